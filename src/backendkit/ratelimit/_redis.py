"""``RedisStore`` and ``AsyncRedisStore``: one Lua script, one round trip per check.

Both run the same script (``lua/check.lua``, the twin of ``_algorithms.py``) and
share everything but the call itself: the script is loaded once per store and
sent with EVALSHA; redis-py reloads it transparently after a SCRIPT FLUSH or a
restart (NOSCRIPT). The clock is Redis ``TIME``, read inside the script.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from backendkit._extras import require
from backendkit.ratelimit._algorithms import Spec, Step, TokenBucketSpec
from backendkit.ratelimit._store import StoreError

require("redis", extra="redis", module="backendkit.ratelimit (Redis stores)")

import redis  # noqa: E402  (after the extra check, which names the extra to install)
import redis.asyncio  # noqa: E402

SCRIPT = files("backendkit.ratelimit").joinpath("lua/check.lua").read_text(encoding="utf-8")
# Short by default: a rate limiter that waits for a dead Redis slows every request down.
DEFAULT_TIMEOUT = 0.25


def script_args(specs: Sequence[Spec], cost: int, op: str, now: int | None = None) -> list[Any]:
    """The script's ARGV for one check. ``now`` is for tests of the arithmetic only; production sends none."""
    args: list[Any] = ["" if now is None else now, cost, op]
    for spec in specs:
        if isinstance(spec, TokenBucketSpec):
            args += [1, spec.limit, spec.window, spec.burst]
        else:
            args += [2, spec.limit, spec.window, 0]
    return args


def parse_reply(reply: Any) -> list[Step]:
    """The script's reply as steps (the states stay in Redis)."""
    return [
        Step(bool(allowed), int(remaining), int(reset_after), None if retry_after < 0 else int(retry_after), ())
        for allowed, remaining, reset_after, retry_after in reply
    ]


class RedisStore:
    """Rate-limit state in Redis, for many processes (redis-py, sync).

    Args:
        client: An existing ``redis.Redis`` (or ``RedisCluster``) client, or a URL
            such as ``"redis://localhost:6379/0"``; a client made from a URL gets
            short socket timeouts (0.25 s).

    Every key carries a TTL equal to how long its state matters. Driver errors
    become :class:`StoreError`, which the limiter's failure policy handles.
    """

    def __init__(self, client: Any) -> None:
        if isinstance(client, str):
            client = redis.Redis.from_url(
                client, socket_timeout=DEFAULT_TIMEOUT, socket_connect_timeout=DEFAULT_TIMEOUT
            )
        self.client = client
        self._script = client.register_script(SCRIPT)

    def apply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """One atomic check: one EVALSHA, whatever the number of policies."""
        return self._apply(keys, specs, cost, op, None)

    def _apply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str, now: int | None) -> list[Step]:
        try:
            reply = self._script(keys=list(keys), args=script_args(specs, cost, op, now))
        except redis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        return parse_reply(reply)

    def clear(self, keys: Sequence[str]) -> None:
        """Delete ``keys``."""
        try:
            self.client.delete(*keys)
        except redis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


class AsyncRedisStore:
    """:class:`RedisStore` for asyncio (``redis.asyncio``): never blocks the event loop.

    Args:
        client: A URL, or an existing ``redis.asyncio.Redis`` client. A store made
            from a URL keeps one client per event loop (an asyncio connection
            belongs to the loop that opened it, and Django runs each async view
            served over WSGI on a loop of its own), each with a blocking pool of
            100 connections, so a burst of concurrent checks waits for a
            connection rather than erroring. A client you pass is used as is, on
            the loop it belongs to; give it a ``BlockingConnectionPool`` for the same.

    Close it with :meth:`aclose` on the loop that used it (in a lifespan handler).
    """

    def __init__(self, client: Any) -> None:
        self._url = client if isinstance(client, str) else None
        self._fixed = None if isinstance(client, str) else (client, client.register_script(SCRIPT))
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def _for_loop(self) -> tuple[Any, Any]:
        if self._fixed is not None:
            return self._fixed
        loop = asyncio.get_running_loop()
        pair = self._per_loop.get(loop)
        if pair is None:
            # A blocking pool: under a burst of concurrent checks, wait briefly for a
            # connection instead of failing ("Too many connections") and so failing open.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self._url or "",
                max_connections=100,
                timeout=2.0,
                socket_timeout=DEFAULT_TIMEOUT,
                socket_connect_timeout=DEFAULT_TIMEOUT,
            )
            client = redis.asyncio.Redis.from_pool(pool)  # owns the pool: aclose() closes it
            pair = self._per_loop[loop] = (client, client.register_script(SCRIPT))
        return pair

    @property
    def client(self) -> Any:
        """The client this store uses on the running event loop."""
        return self._for_loop()[0]

    async def aclose(self) -> None:
        """Close the client of the running loop (or the client given), releasing its connections."""
        client = self._for_loop()[0]
        if self._fixed is None:
            self._per_loop.pop(asyncio.get_running_loop(), None)
        await client.aclose()

    async def aapply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """One atomic check: one EVALSHA, whatever the number of policies."""
        return await self._aapply(keys, specs, cost, op, None)

    async def _aapply(
        self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str, now: int | None
    ) -> list[Step]:
        try:
            reply = await self._for_loop()[1](keys=list(keys), args=script_args(specs, cost, op, now))
        except redis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        return parse_reply(reply)

    async def aclear(self, keys: Sequence[str]) -> None:
        """Delete ``keys``."""
        try:
            await self._for_loop()[0].delete(*keys)
        except redis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
