"""The one error a store raises when it cannot answer. Pure.

::

    Exception
     └── StoreUnavailable        every store, every driver error (Redis, Cluster, Sentinel, sockets)
           = backendkit.ratelimit.StoreError          (the same class, by an older name)
           = backendkit.idempotency.StoreUnavailable  (the same class)

A store never raises an HTTP error: the piece's policy shell (the rate limiter,
:class:`~backendkit.idempotency.Idempotency`, the token verifier) decides what the
request gets, by its ``on_store_error``.
"""

from __future__ import annotations


class StoreUnavailable(Exception):
    """The store could not be reached or did not answer in time; raised ``from`` the driver's error.

    Example:
        >>> from backendkit.stores import StoreUnavailable
        >>> from backendkit.ratelimit import StoreError
        >>> StoreError is StoreUnavailable
        True
    """


__all__ = ["StoreUnavailable"]
