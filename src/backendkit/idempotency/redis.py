"""Idempotency keys in Redis, shared by every process: :class:`RedisStore` and :class:`AsyncRedisStore`.

Each operation is one Lua script on one key, so one round trip: taking a key (or
reading its record, for a replay), keeping a response, releasing a key. One key per
script, hash-tagged (``prefix{32 hex digits}``): a Redis Cluster client works as a
plain one does. Redis's clock decides expiry (``PX``), so processes need not agree
on the time. Scripts go by their SHA (EVALSHA), loaded again when Redis has lost them.

Every wait on Redis lasts at most ``timeout``, as in the rate-limit stores and the
revocation lists (a client that could wait longer, or retry, lends its settings to
connections of the store's own). A failure raises
:class:`~backendkit.idempotency.StoreUnavailable`, and the ``on_error`` policy of
:class:`~backendkit.idempotency.Idempotency` decides the answer.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from backendkit._extras import require
from backendkit.errors import ConfigurationError
from backendkit.idempotency._store import StoreUnavailable

require("redis", extra="redis", module="backendkit.idempotency.redis")

import redis  # noqa: E402  (after the extra check, which names the extra to install)
import redis.asyncio  # noqa: E402
from redis.exceptions import RedisClusterException  # noqa: E402

from backendkit._redis_clients import (  # noqa: E402
    DEFAULT_TIMEOUT,
    bounded_client,
    check_timeout,
    client_from_url,
    forget_closed_loops,
)

_SCRIPTS = {
    name: files("backendkit.idempotency").joinpath(f"lua/{name}.lua").read_text("utf-8")
    for name in ("begin", "finish", "release")
}
_FAILURES = (redis.RedisError, RedisClusterException, OSError)
# A connection the pool kept from before a Redis restart fails at once ("Connection closed by
# server"): one more try, on a fresh connection, so a restart does not cost one 503 per pooled
# connection. Timeouts are not retried (that would double the wait), and the scripts are safe
# to repeat: begin finds its own lock, finish its own record, release deletes only its lock.
_STALE = (redis.ConnectionError,)


def _begun(reply: Any) -> tuple[bytes | None, int]:
    if not reply:
        return None, 0
    return bytes(reply[0]), int(reply[1])


class RedisStore:
    """The idempotency store in Redis for sync code (``redis.Redis`` or ``RedisCluster``, or a URL).

    Args:
        client: A sync redis-py client, or a URL (``redis://``, ``rediss://``, ``unix://``).
        timeout: The longest each wait on Redis lasts, in seconds.

    Example:
        >>> store = RedisStore("redis://127.0.0.1:6379/0")
        >>> store.close()
    """

    def __init__(self, client: Any, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if isinstance(client, (redis.asyncio.Redis, redis.asyncio.RedisCluster)):
            raise ConfigurationError("RedisStore needs a sync client; an asyncio one goes to AsyncRedisStore")
        self.timeout = check_timeout(timeout)
        if isinstance(client, str):
            self.client = client_from_url(client, self.timeout, asyncio=False)
        else:
            self.client = bounded_client(client, self.timeout)()
        self._owned = self.client is not client
        if self._owned:
            weakref.finalize(self, self.client.close)
        self._scripts = {name: self.client.register_script(text) for name, text in _SCRIPTS.items()}

    def _run(self, name: str, key: str, *args: Any) -> Any:
        for attempt in (1, 2):
            try:
                return self._scripts[name](keys=[key], args=list(args))
            except _STALE as exc:
                if attempt == 2:
                    raise StoreUnavailable(str(exc)) from exc
            except _FAILURES as exc:
                raise StoreUnavailable(str(exc)) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def begin(self, key: str, lock: bytes, lock_ms: int) -> tuple[bytes | None, int]:
        """See :mod:`backendkit.idempotency._store`: one round trip."""
        return _begun(self._run("begin", key, lock, lock_ms))

    def finish(self, key: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """See :mod:`backendkit.idempotency._store`: one round trip."""
        return bool(self._run("finish", key, lock, record, ttl_ms))

    def release(self, key: str, lock: bytes) -> None:
        """See :mod:`backendkit.idempotency._store`: one round trip."""
        self._run("release", key, lock)

    def close(self) -> None:
        """Close the connections the store opened (a client given as it is stays yours)."""
        if self._owned:
            self.client.close()


class AsyncRedisStore:
    """:class:`RedisStore` for asyncio (``redis.asyncio``): never blocks the event loop.

    An asyncio connection belongs to the loop that opened it, so the store keeps a client
    per event loop (Django serves each async view under WSGI on a loop of its own).
    Close it with :meth:`aclose` on each loop that used it.
    """

    def __init__(self, client: Any, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if isinstance(client, (redis.Redis, redis.RedisCluster)):
            raise ConfigurationError("AsyncRedisStore needs an asyncio client; a sync one goes to RedisStore")
        self.timeout = check_timeout(timeout)
        self._given = client
        self._make: Callable[[], Any]
        if isinstance(client, str):
            url = client
            self._make = lambda: client_from_url(url, self.timeout, asyncio=True)
        else:
            self._make = bounded_client(client, self.timeout)
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, dict[str, Any]]]
        self._per_loop = weakref.WeakKeyDictionary()

    def _for_loop(self) -> tuple[Any, dict[str, Any]]:
        loop = asyncio.get_running_loop()
        found = self._per_loop.get(loop)
        if found is None:
            forget_closed_loops(self._per_loop)
            client = self._make()
            found = self._per_loop[loop] = (client, {n: client.register_script(t) for n, t in _SCRIPTS.items()})
        return found

    @property
    def client(self) -> Any:
        """The client this store uses on the running event loop (a readiness check pings it)."""
        return self._for_loop()[0]

    def _scripts(self) -> dict[str, Any]:
        return self._for_loop()[1]

    async def _run(self, name: str, key: str, *args: Any) -> Any:
        for attempt in (1, 2):
            try:
                return await self._scripts()[name](keys=[key], args=list(args))
            except _STALE as exc:
                if attempt == 2:
                    raise StoreUnavailable(str(exc)) from exc
            except _FAILURES as exc:
                raise StoreUnavailable(str(exc)) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def abegin(self, key: str, lock: bytes, lock_ms: int) -> tuple[bytes | None, int]:
        """See :mod:`backendkit.idempotency._store`: one round trip."""
        return _begun(await self._run("begin", key, lock, lock_ms))

    async def afinish(self, key: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """See :mod:`backendkit.idempotency._store`: one round trip."""
        return bool(await self._run("finish", key, lock, record, ttl_ms))

    async def arelease(self, key: str, lock: bytes) -> None:
        """See :mod:`backendkit.idempotency._store`: one round trip."""
        await self._run("release", key, lock)

    async def aclose(self) -> None:
        """Close the client the store opened for the running event loop."""
        found = self._per_loop.pop(asyncio.get_running_loop(), None)
        if found is not None and found[0] is not self._given:
            await found[0].aclose()


__all__ = ["AsyncRedisStore", "RedisStore"]
