"""The rate limit every example puts on ``GET /limited``: five a minute per client address.

The client address is the one every piece uses, decided by the app's ``trusted_proxies``
setting (``examples/_proxies.py``): behind a proxy on this host, the client it forwards.
The counts are in Redis when ``BACKENDKIT_EXAMPLE_REDIS_URL`` is set (shared by every worker
process), in memory otherwise.
"""

from __future__ import annotations

from backendkit.ratelimit import Limit, SlidingWindow, by_ip
from examples import _redis


def limited(*, asynchronous: bool) -> Limit:
    """A new limit, ``5/minute`` per client (a sliding window), in Redis (async for ASGI apps) or in memory."""
    store = None  # a MemoryStore of the limit's own
    url = _redis.url()
    if url:
        from backendkit.ratelimit import AsyncRedisStore, RedisStore

        store = AsyncRedisStore(url) if asynchronous else RedisStore(url)
    return Limit(SlidingWindow("5/minute"), key=by_ip(), store=store)
