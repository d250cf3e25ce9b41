"""The store kernel's pure core: the one error, the outage policy, the breaker's state machine.

No I/O, no driver, no logging, asyncio or threading; the time is passed in
(``stores/_core/README.md``). The shells around it are :mod:`backendkit.stores._outage`
(the breaker that logs, the deprecated spellings) and :mod:`backendkit.stores.redis`.
"""

from __future__ import annotations

from backendkit.stores._core.breaker import BreakerState
from backendkit.stores._core.errors import StoreUnavailable
from backendkit.stores._core.policy import OUTAGE_POLICIES, OnStoreError, check_on_store_error, check_retry_interval

__all__ = [
    "OUTAGE_POLICIES",
    "BreakerState",
    "OnStoreError",
    "StoreUnavailable",
    "check_on_store_error",
    "check_retry_interval",
]
