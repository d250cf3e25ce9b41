"""The Redis half of the store kernel (the ``redis`` extra): what every Redis-backed piece is built on.

- :class:`RedisConnection` and :class:`AsyncRedisConnection`: a client from a URL
  (checked when built) or from the application's (used as it is when its waits are
  bounded, else copied with bounded waits and no retries); one client per event loop
  on the asyncio side, with a bounded number of commands in flight; ``close()`` /
  ``aclose()`` closes only what the store opened.
- :class:`Script`: a Lua script sent by SHA, loaded again on NOSCRIPT.
- One mapping of every driver error to :class:`~backendkit.stores.StoreUnavailable`
  and one retry rule (``_calls.py``), shared by the sync and async sides: each of
  them only sends what the shared :class:`~backendkit.stores.redis._calls.Call` says.

A piece subclasses a connection and adds its commands and its codec::

    class RedisThings(RedisConnection):
        def get(self, key: str) -> bytes | None:
            return self.call("GET", key, repeatable=True)
"""

from __future__ import annotations

from backendkit._extras import require

require("redis", extra="redis", module="backendkit.stores.redis")

from backendkit.stores.redis._async import AsyncRedisConnection  # noqa: E402
from backendkit.stores.redis._calls import FAILURES, Script, unavailable  # noqa: E402
from backendkit.stores.redis._clients import DEFAULT_TIMEOUT, check_timeout, checked_url  # noqa: E402
from backendkit.stores.redis._sync import RedisConnection  # noqa: E402

__all__ = [
    "DEFAULT_TIMEOUT",
    "FAILURES",
    "AsyncRedisConnection",
    "RedisConnection",
    "Script",
    "check_timeout",
    "checked_url",
    "unavailable",
]
