"""Idempotency keys in Redis, shared by every process: :class:`RedisStore` and :class:`AsyncRedisStore`.

Each operation is one Lua script on one key, so one round trip: taking a key (or
reading its record, for a replay), keeping a response, releasing a key. One key per
script, hash-tagged (``prefix{32 hex digits}``): a Redis Cluster client works as a
plain one does. Redis's clock decides expiry (``PX``), so processes need not agree
on the time. Scripts go by their SHA (EVALSHA), loaded again when Redis has lost them.

The clients, the bounded waits, the error mapping, the checks in flight and the
retry rule are the store kernel's (:mod:`backendkit.stores.redis`), as for the
rate-limit stores and the revocation lists: here are only the scripts and their
replies. The scripts are safe to repeat (``begin`` finds its own lock, ``finish``
its own record, ``release`` deletes only its lock), so a stale pooled connection
(after a Redis restart) is retried once. A failure raises
:class:`~backendkit.stores.StoreUnavailable`, and the ``on_store_error`` policy of
:class:`~backendkit.idempotency.Idempotency` decides the answer.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from backendkit._extras import require

require("redis", extra="redis", module="backendkit.idempotency.redis")

from backendkit.stores.redis import AsyncRedisConnection, RedisConnection, Script  # noqa: E402

_SCRIPTS = {
    name: Script(files("backendkit.idempotency._stores").joinpath(f"lua/{name}.lua").read_text("utf-8"))
    for name in ("begin", "finish", "release")
}


def _command(name: str, key: str, *args: Any) -> tuple[Any, ...]:
    return ("EVALSHA", _SCRIPTS[name].sha, 1, key, *args)


def _begun(reply: Any) -> tuple[bytes | None, int]:
    if not reply:
        return None, 0
    return bytes(reply[0]), int(reply[1])


class RedisStore(RedisConnection):
    """The idempotency store in Redis for sync code (``redis.Redis`` or ``RedisCluster``, or a URL).

    Args:
        client: A sync redis-py client, or a URL (``redis://``, ``rediss://``, ``unix://``).
        timeout: The longest each wait on Redis lasts, in seconds.

    :meth:`close` closes the connections the store opened; a client given as it is stays yours.

    Example:
        >>> store = RedisStore("redis://127.0.0.1:6379/0")
        >>> store.close()
    """

    def begin(self, key: str, lock: bytes, lock_ms: int) -> tuple[bytes | None, int]:
        """See :mod:`backendkit.idempotency._core.store`: one round trip."""
        return _begun(self.call(*_command("begin", key, lock, lock_ms), script=_SCRIPTS["begin"], repeatable=True))

    def finish(self, key: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """See :mod:`backendkit.idempotency._core.store`: one round trip."""
        reply = self.call(*_command("finish", key, lock, record, ttl_ms), script=_SCRIPTS["finish"], repeatable=True)
        return bool(reply)

    def release(self, key: str, lock: bytes) -> None:
        """See :mod:`backendkit.idempotency._core.store`: one round trip."""
        self.call(*_command("release", key, lock), script=_SCRIPTS["release"], repeatable=True)


class AsyncRedisStore(AsyncRedisConnection):
    """:class:`RedisStore` for asyncio (``redis.asyncio``): never blocks the event loop.

    An asyncio connection belongs to the loop that opened it, so the store keeps a client
    per event loop (Django serves each async view under WSGI on a loop of its own).
    Close it with :meth:`aclose` on each loop that used it.
    """

    async def abegin(self, key: str, lock: bytes, lock_ms: int) -> tuple[bytes | None, int]:
        """See :mod:`backendkit.idempotency._core.store`: one round trip."""
        command = _command("begin", key, lock, lock_ms)
        return _begun(await self.acall(*command, script=_SCRIPTS["begin"], repeatable=True))

    async def afinish(self, key: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """See :mod:`backendkit.idempotency._core.store`: one round trip."""
        command = _command("finish", key, lock, record, ttl_ms)
        return bool(await self.acall(*command, script=_SCRIPTS["finish"], repeatable=True))

    async def arelease(self, key: str, lock: bytes) -> None:
        """See :mod:`backendkit.idempotency._core.store`: one round trip."""
        await self.acall(*_command("release", key, lock), script=_SCRIPTS["release"], repeatable=True)


__all__ = ["AsyncRedisStore", "RedisStore"]
