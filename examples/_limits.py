"""The rate limit every example puts on ``GET /limited``: five a minute per client address.

The examples expect to run behind a reverse proxy on the same host, so the
loopback addresses are trusted proxies and the client is read from
``X-Forwarded-For`` (a client's own ``Forwarded`` is ignored); a request from anywhere else is keyed by its
own address, whatever it writes in those headers. The counts are in Redis when
``BACKENDKIT_EXAMPLE_REDIS_URL`` is set (shared by every worker process), in memory otherwise.
"""

from __future__ import annotations

from backendkit.ratelimit import Limit, SlidingWindow, by_ip
from examples import _redis

TRUSTED_PROXIES = ("127.0.0.0/8", "::1")


def limited(*, asynchronous: bool) -> Limit:
    """A new limit, ``5/minute`` per client (a sliding window), in Redis (async for ASGI apps) or in memory."""
    store = None  # a MemoryStore of the limit's own
    url = _redis.url()
    if url:
        from backendkit.ratelimit import AsyncRedisStore, RedisStore

        store = AsyncRedisStore(url) if asynchronous else RedisStore(url)
    return Limit(SlidingWindow("5/minute"), key=by_ip(TRUSTED_PROXIES), store=store)
