"""The idempotency stores in Redis: :class:`RedisStore` and :class:`AsyncRedisStore` (the ``redis`` extra).

Where to import them from; they live with the other stores, in ``backendkit.idempotency._stores.redis``.
"""

from __future__ import annotations

from backendkit.idempotency._stores.redis import AsyncRedisStore, RedisStore

__all__ = ["AsyncRedisStore", "RedisStore"]
