"""API keys in Redis: :class:`RedisKeyStore` (the ``redis`` extra).

Where to import it from; it lives with the other stores, in ``backendkit.apikeys._stores.redis``.
"""

from __future__ import annotations

from backendkit.apikeys._stores.redis import DEFAULT_PREFIX, RedisKeyStore

__all__ = ["DEFAULT_PREFIX", "RedisKeyStore"]
