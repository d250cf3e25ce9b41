"""Revocation lists in Redis, shared by every process: :class:`RedisRevocations` and :class:`AsyncRedisRevocations`.

A revocation is one ``SET key 1 PX <ms>``, the milliseconds the token has left,
so Redis forgets it when the token would have expired anyway; a check is one
round trip, ``EXISTS key`` (Redis's clock decides expiry, not ``now``). One key
per command: a Redis Cluster client works as well as a plain one.

The key is ``prefix`` and the first 32 hex digits of the SHA-256 of the ``jti``:
whatever ``jti`` an issuer chose, the key has a fixed length and plain characters.
A collision (128 bits) could only make a token refused, never accepted.

The clients are the store kernel's (:mod:`backendkit.stores.redis`), as for the
rate-limit stores and the idempotency keys: each wait on Redis lasts at most
``timeout`` (a client that could wait longer, or retry, lends its settings to
connections of the store's own; a Cluster client must bound its waits itself),
a URL is checked when the store is built, and both commands are safe to repeat,
so a stale pooled connection is retried once. When Redis cannot answer, the
store raises :class:`~backendkit.stores.StoreUnavailable`, and the verifier
(:class:`~backendkit.auth.JWTVerifier`) applies its ``on_store_error``:

- ``"closed"`` (the default): :class:`~backendkit.errors.ServiceUnavailable`
  (503, ``Retry-After: 1``). A revoked token is never accepted because Redis
  was down: a logout, or the revocation of a stolen token, keeps its promise.
- ``"open"``: "not revoked", with a warning on the ``backendkit.auth`` logger
  (once per outage): availability first, for services with short-lived tokens.

A store's own ``on_store_error`` is the policy a verifier applies to it when the
verifier is not given one. A revocation Redis cannot store is a 503 either way:
a logout that silently did nothing is worse than an error.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, TypeVar

from backendkit._deprecation import RenamedAttribute
from backendkit._extras import require
from backendkit.errors import ConfigurationError
from backendkit.stores import OnStoreError
from backendkit.stores._outage import on_store_error_from

require("redis", extra="redis", module="backendkit.auth.redis")

from backendkit.stores.redis import (  # noqa: E402  (after the extra check, which names the extra to install)
    DEFAULT_TIMEOUT,
    AsyncRedisConnection,
    RedisConnection,
    checked_url,
)

DEFAULT_PREFIX = "backendkit:revoked:"
_KEY_DIGITS = 32  # of the SHA-256 of a jti in its key: 128 bits
_Store = TypeVar("_Store", bound="_Shared")


class _Shared:
    """What both stores share: the arguments, the keys and the TTLs (the connection is the kernel's)."""

    store_name = "the Redis revocation list"  # in the verifier's outage log lines
    on_error = RenamedAttribute("on_error", "on_store_error")

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_store_error: OnStoreError = "closed",
        timeout: float = DEFAULT_TIMEOUT,
        on_error: OnStoreError | None = None,
    ) -> None:
        if not isinstance(prefix, str):
            raise ConfigurationError(f"prefix is a string, not {prefix!r}")
        self.prefix = prefix
        self.on_store_error = on_store_error_from(on_store_error, on_error)
        connect: Any = super().__init__  # RedisConnection's or AsyncRedisConnection's, next in line
        connect(client, timeout=timeout)

    @classmethod
    def from_url(cls: type[_Store], url: str, **options: Any) -> _Store:
        """A store with clients of its own for ``url`` (``redis://``, ``rediss://`` or ``unix://``).

        ``options`` are the constructor's: ``prefix``, ``on_store_error``, ``timeout``.
        """
        return cls(checked_url(url), **options)

    def key(self, jti: str) -> str:
        """The Redis key of ``jti``: ``prefix`` and 32 hex digits, whatever the ``jti``."""
        digest = hashlib.sha256(jti.encode("utf-8", "surrogatepass")).hexdigest()
        return self.prefix + digest[:_KEY_DIGITS]

    @staticmethod
    def _ttl_ms(expires_at: float, now: float) -> int:
        left = expires_at - now
        if not math.isfinite(left):
            raise ValueError(f"expires_at and now are finite seconds, not {expires_at!r} and {now!r}")
        return math.ceil(left * 1000)


class RedisRevocations(_Shared, RedisConnection):
    """A revocation list in Redis for sync code (redis-py's ``redis.Redis`` or ``RedisCluster``).

    Args:
        client: A ``redis.Redis`` or ``redis.cluster.RedisCluster`` client, or a URL.
        prefix: Prepended to every key.
        on_store_error: The policy a verifier applies to this list when it is not given
            one: ``"closed"`` (a 503) or ``"open"`` ("not revoked", logged once per outage).
            ``on_error`` is its deprecated old name.
        timeout: The longest each wait on Redis lasts, in seconds.

    A failed command raises :class:`~backendkit.stores.StoreUnavailable`. A client the
    store opened (from a URL, or copied to bound its waits) is closed by :meth:`close`;
    a client used as it is stays yours to close.

    Example:
        >>> revoked = RedisRevocations.from_url("redis://localhost:6379/0", prefix="app:revoked:")
        >>> len(revoked.key("any jti, however long")) == len("app:revoked:") + 32
        True
        >>> revoked.close()
    """

    def revoke(self, jti: str, expires_at: float, now: float) -> None:
        """Refuse ``jti`` until ``expires_at``: one ``SET ... PX``, none for a token already expired."""
        ttl = self._ttl_ms(expires_at, now)
        if ttl > 0:
            self.call("SET", self.key(jti), b"1", "PX", ttl, repeatable=True)

    def is_revoked(self, jti: str, now: float) -> bool:
        """Whether ``jti`` is revoked: one ``EXISTS``; Redis's own expiry decides, not ``now``."""
        return bool(self.call("EXISTS", self.key(jti), repeatable=True))


class AsyncRedisRevocations(_Shared, AsyncRedisConnection):
    """:class:`RedisRevocations` for asyncio (``redis.asyncio``): never blocks the event loop.

    Args:
        client: A ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` client, or a URL.
        prefix: Prepended to every key.
        on_store_error: The policy a verifier applies to this list (see :class:`RedisRevocations`).
        timeout: The longest each wait on Redis lasts, in seconds.

    An asyncio connection belongs to the loop that opened it, so the store opens a
    client per event loop (Django runs each async view served over WSGI on a loop
    of its own); a client given with bounded settings is used as it is, on its loop.
    Close the store with :meth:`aclose` on each loop that used it (in a lifespan handler).

    Example:
        >>> revoked = AsyncRedisRevocations.from_url("redis://localhost:6379/0", on_store_error="open")
        >>> revoked.key("t1").startswith("backendkit:revoked:")
        True
    """

    async def arevoke(self, jti: str, expires_at: float, now: float) -> None:
        """See :meth:`RedisRevocations.revoke`."""
        ttl = self._ttl_ms(expires_at, now)
        if ttl > 0:
            await self.acall("SET", self.key(jti), b"1", "PX", ttl, repeatable=True)

    async def ais_revoked(self, jti: str, now: float) -> bool:
        """See :meth:`RedisRevocations.is_revoked`."""
        return bool(await self.acall("EXISTS", self.key(jti), repeatable=True))


__all__ = ["DEFAULT_PREFIX", "AsyncRedisRevocations", "RedisRevocations"]
