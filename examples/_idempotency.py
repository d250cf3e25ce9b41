"""The idempotency keys every example accepts on ``POST /tasks``.

In memory by default (one process); in Redis when ``BACKENDKIT_EXAMPLE_REDIS_URL`` is
set, so that several worker processes share the keys. Keys are optional: a ``POST``
without one creates a task as before. A retry with the same key gets the same ``201``
and the same task; the same key with another body is a ``422``.
"""

from __future__ import annotations

from backendkit.idempotency import Idempotency, MemoryStore
from examples import _redis


def keys(*, asynchronous: bool) -> Idempotency:
    """The example's idempotency: an async Redis store for ASGI, a sync one for WSGI, or memory."""
    url = _redis.url()
    if not url:
        return Idempotency(MemoryStore())
    from backendkit.idempotency.redis import AsyncRedisStore, RedisStore

    return Idempotency(AsyncRedisStore(url) if asynchronous else RedisStore(url))
