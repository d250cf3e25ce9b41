"""Revocation lists in Redis, shared by every process: :class:`RedisRevocations` and :class:`AsyncRedisRevocations`.

A revocation is one ``SET key 1 PX <ms>``, the milliseconds the token has left,
so Redis forgets it when the token would have expired anyway; a check is one
round trip, ``EXISTS key`` (Redis's clock decides expiry, not ``now``). One key
per command: a Redis Cluster client works as well as a plain one.

The key is ``prefix`` and the first 32 hex digits of the SHA-256 of the ``jti``:
whatever ``jti`` an issuer chose, the key has a fixed length and plain characters.
A collision (128 bits) could only make a token refused, never accepted.

Each wait on Redis, for a connection or a reply, lasts at most ``timeout``, as in
the rate-limit stores: a client that could wait longer, or retry, lends its
settings to connections of the store's own (a Cluster client must bound its
waits itself; a ``ConfigurationError`` says how). When a check cannot reach
Redis, ``on_error`` decides:

- ``"closed"`` (the default): :class:`~backendkit.errors.ServiceUnavailable`
  (503, ``Retry-After: 1``). A revoked token is never accepted because Redis
  was down: a logout, or the revocation of a stolen token, keeps its promise.
- ``"open"``: "not revoked", with a warning on the ``backendkit.auth`` logger
  (once per outage): availability first, for services with short-lived tokens.

A revocation Redis cannot store raises ``ServiceUnavailable`` either way: a
logout that silently did nothing is worse than an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import weakref
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from backendkit._extras import require
from backendkit.errors import ConfigurationError, ServiceUnavailable

require("redis", extra="redis", module="backendkit.auth.redis")

import redis  # noqa: E402  (after the extra check, which names the extra to install)
import redis.asyncio  # noqa: E402
import redis.connection  # noqa: E402
from redis.exceptions import RedisClusterException  # noqa: E402

# Shared with the rate-limit stores: the same bounded waits, the same refusal of clients that cannot bound them.
from backendkit._redis_clients import (  # noqa: E402
    DEFAULT_TIMEOUT,
    bounded_client,
    check_timeout,
    client_from_url,
    forget_closed_loops,
)

OnError = Literal["closed", "open"]
DEFAULT_PREFIX = "backendkit:revoked:"
_KEY_DIGITS = 32  # of the SHA-256 of a jti in its key: 128 bits

logger = logging.getLogger("backendkit.auth")
_FAILURES = (redis.RedisError, RedisClusterException)  # the cluster client's own errors are not RedisErrors
_Store = TypeVar("_Store", bound="_Shared")
_parse_url: Callable[[str], object] = redis.connection.parse_url  # (untyped in redis-py)


class _Shared:
    """What both stores share: the arguments, the keys, the TTLs and the failure policy."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_error: OnError = "closed",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not isinstance(prefix, str):
            raise ConfigurationError(f"prefix is a string, not {prefix!r}")
        if on_error not in ("closed", "open"):
            raise ConfigurationError(f"on_error is 'closed' or 'open', not {on_error!r}")
        self.prefix = prefix
        self.on_error: OnError = on_error
        self.timeout = check_timeout(timeout)
        self._down = False
        self._use(client)

    def _use(self, client: Any) -> None:  # each store's own: check the client's kind, bound its waits
        raise NotImplementedError

    @classmethod
    def from_url(
        cls: type[_Store],
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_error: OnError = "closed",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> _Store:
        """A store with clients of its own for ``url`` (``redis://``, ``rediss://`` or ``unix://``)."""
        return cls(_checked_url(url), prefix=prefix, on_error=on_error, timeout=timeout)

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

    def _answered(self) -> None:
        if self._down:
            self._down = False
            logger.warning("the Redis revocation list is available again")

    def _unavailable(self, exc: Exception) -> ServiceUnavailable:
        """The error for a failed command; the outage is logged once, not once per request."""
        if not self._down:
            self._down = True
            logger.warning("the Redis revocation list is unavailable (%s); failing %s", exc, self.on_error)
        return ServiceUnavailable(headers={"Retry-After": "1"})

    def _check_failed(self, exc: Exception) -> bool:
        """What a check answers without Redis: ServiceUnavailable (closed), or not revoked (open)."""
        error = self._unavailable(exc)
        if self.on_error == "closed":
            raise error from exc
        return False


def _checked_url(url: object) -> str:
    if not isinstance(url, str):
        raise ConfigurationError(f"a Redis URL is a string, not {url!r}")
    try:
        _parse_url(url)
    except ValueError as exc:  # an unknown scheme, a bad port...
        raise ConfigurationError(f"not a Redis URL: {exc}") from exc
    return url


class RedisRevocations(_Shared):
    """A revocation list in Redis for sync code (redis-py's ``redis.Redis`` or ``RedisCluster``).

    Args:
        client: A ``redis.Redis`` or ``redis.cluster.RedisCluster`` client, or a URL.
        prefix: Prepended to every key.
        on_error: What a check answers when Redis cannot: ``"closed"`` raises
            ``ServiceUnavailable``, ``"open"`` answers "not revoked" and logs a warning.
        timeout: The longest each wait on Redis lasts, in seconds.

    A client the store opened (from a URL, or copied to bound its waits) is closed by
    :meth:`close`; a client used as it is stays yours to close.

    Example:
        >>> revoked = RedisRevocations.from_url("redis://localhost:6379/0", prefix="app:revoked:")
        >>> len(revoked.key("any jti, however long")) == len("app:revoked:") + 32
        True
        >>> revoked.close()
    """

    def _use(self, client: Any) -> None:
        if isinstance(client, (redis.asyncio.Redis, redis.asyncio.RedisCluster)):
            raise ConfigurationError(
                "RedisRevocations needs a sync client; an asyncio one goes to AsyncRedisRevocations"
            )
        if isinstance(client, str):
            self.client = client_from_url(_checked_url(client), self.timeout, asyncio=False)
        else:
            self.client = bounded_client(client, self.timeout)()
        self._owned = self.client is not client
        if self._owned:  # connections of the store's own: closed with it, at the latest
            weakref.finalize(self, self.client.close)

    def revoke(self, jti: str, expires_at: float, now: float) -> None:
        """Refuse ``jti`` until ``expires_at``: one ``SET ... PX``, none for a token already expired."""
        ttl = self._ttl_ms(expires_at, now)
        if ttl <= 0:
            return
        try:
            self.client.set(self.key(jti), b"1", px=ttl)
        except _FAILURES as exc:
            raise self._unavailable(exc) from exc
        self._answered()

    def is_revoked(self, jti: str, now: float) -> bool:
        """Whether ``jti`` is revoked: one ``EXISTS``; Redis's own expiry decides, not ``now``."""
        try:
            found = self.client.exists(self.key(jti))
        except _FAILURES as exc:
            return self._check_failed(exc)
        self._answered()
        return bool(found)

    def close(self) -> None:
        """Close the connections the store opened."""
        if self._owned:
            self.client.close()


class AsyncRedisRevocations(_Shared):
    """:class:`RedisRevocations` for asyncio (``redis.asyncio``): never blocks the event loop.

    Args:
        client: A ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` client, or a URL.
        prefix: Prepended to every key.
        on_error: What a check answers when Redis cannot (see :class:`RedisRevocations`).
        timeout: The longest each wait on Redis lasts, in seconds.

    An asyncio connection belongs to the loop that opened it, so the store opens a
    client per event loop (Django runs each async view served over WSGI on a loop
    of its own); a client given with bounded settings is used as it is, on its loop.
    Close the store with :meth:`aclose` on each loop that used it (in a lifespan handler).

    Example:
        >>> revoked = AsyncRedisRevocations.from_url("redis://localhost:6379/0", on_error="open")
        >>> revoked.key("t1").startswith("backendkit:revoked:")
        True
    """

    def _use(self, client: Any) -> None:
        if isinstance(client, (redis.Redis, redis.RedisCluster)):
            raise ConfigurationError(
                "AsyncRedisRevocations needs an asyncio client; a sync one goes to RedisRevocations"
            )
        self._given = client
        self._make: Callable[[], Any]
        if isinstance(client, str):
            url = _checked_url(client)
            self._make = lambda: client_from_url(url, self.timeout, asyncio=True)
        else:
            self._make = bounded_client(client, self.timeout)
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    @property
    def client(self) -> Any:
        """The client this store uses on the running event loop."""
        loop = asyncio.get_running_loop()
        client = self._per_loop.get(loop)
        if client is None:
            forget_closed_loops(self._per_loop)
            client = self._per_loop[loop] = self._make()
        return client

    async def arevoke(self, jti: str, expires_at: float, now: float) -> None:
        """See :meth:`RedisRevocations.revoke`."""
        ttl = self._ttl_ms(expires_at, now)
        if ttl <= 0:
            return
        try:
            await self.client.set(self.key(jti), b"1", px=ttl)
        except _FAILURES as exc:
            raise self._unavailable(exc) from exc
        self._answered()

    async def ais_revoked(self, jti: str, now: float) -> bool:
        """See :meth:`RedisRevocations.is_revoked`."""
        try:
            found = await self.client.exists(self.key(jti))
        except _FAILURES as exc:
            return self._check_failed(exc)
        self._answered()
        return bool(found)

    async def aclose(self) -> None:
        """Close the client the store opened for the running event loop."""
        client = self._per_loop.pop(asyncio.get_running_loop(), None)
        if client is not None and client is not self._given:
            await client.aclose()


__all__ = ["DEFAULT_PREFIX", "AsyncRedisRevocations", "RedisRevocations"]
