"""Revocation lists in Redis: :class:`RedisRevocations` and :class:`AsyncRedisRevocations` (the ``redis`` extra).

Where to import them from; they live with the other stores, in ``backendkit.auth._stores.redis``.
"""

from __future__ import annotations

from backendkit.auth._stores.redis import DEFAULT_PREFIX, AsyncRedisRevocations, RedisRevocations

__all__ = ["DEFAULT_PREFIX", "AsyncRedisRevocations", "RedisRevocations"]
