"""The store kernel: what every piece that keeps state in a store shares.

- :class:`StoreUnavailable`, the one error a store raises when it cannot answer
  (``backendkit.ratelimit.StoreError`` and ``backendkit.idempotency.StoreUnavailable``
  are this class under older names);
- the outage policy, ``on_store_error="open"`` or ``"closed"``, and :class:`Breaker`,
  which skips a failed store for ``retry_interval`` seconds and logs each change once;
- :mod:`backendkit.stores.redis` (the ``redis`` extra): clients with bounded waits, one
  per event loop, scripts by SHA, one mapping of every driver error, one retry rule.

Rate limits, idempotency keys and revocation lists are built on it; each adds only
its commands and its codec. See docs/architecture.md, "Stores and outages".

Example:
    >>> from backendkit.stores import StoreUnavailable
    >>> issubclass(StoreUnavailable, Exception)
    True
"""

from __future__ import annotations

from backendkit.stores._core import OnStoreError, StoreUnavailable
from backendkit.stores._outage import Breaker

__all__ = ["Breaker", "OnStoreError", "StoreUnavailable"]
