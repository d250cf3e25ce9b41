"""Auth state in Redis (the ``redis`` extra): revocation lists and refresh-token families.

Where to import them from; they live with the other stores, in ``backendkit.auth._stores``.
"""

from __future__ import annotations

from backendkit.auth._stores.redis import DEFAULT_PREFIX, AsyncRedisRevocations, RedisRevocations
from backendkit.auth._stores.refresh_redis import RedisRefreshStore

__all__ = ["DEFAULT_PREFIX", "AsyncRedisRevocations", "RedisRefreshStore", "RedisRevocations"]
