"""``RedisStore`` and ``AsyncRedisStore``: one Lua script, one round trip per check.

Both run the same script (``lua/check.lua``, the twin of ``_algorithms.py``) and
share everything but the call itself: the script is sent by its SHA with
EVALSHA, and loaded when Redis answers NOSCRIPT (first use, SCRIPT FLUSH, a
restart). The clock is Redis ``TIME``, read inside the script.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
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
from redis.exceptions import NoScriptError  # noqa: E402

SCRIPT = files("backendkit.ratelimit").joinpath("lua/check.lua").read_text(encoding="utf-8")
# The script's name in Redis (what SCRIPT LOAD answers): SHA-1 is Redis's choice, not a security measure.
SHA = hashlib.sha1(SCRIPT.encode("utf-8"), usedforsecurity=False).hexdigest().encode("ascii")
# Short by default: a rate limiter that waits for a dead Redis slows every request down.
DEFAULT_TIMEOUT = 0.25
# The most checks a store made from a URL has in flight on one event loop (so the most
# connections it opens there), and how long a check waits for its turn beyond that.
MAX_CONNECTIONS = 100
QUEUE_TIMEOUT = 2.0
_LoopClient = tuple[Any, "_Turns | None"]  # a loop's client, and the turns of its checks


def script_args(specs: Sequence[Spec], cost: int, op: str, now: int | None = None) -> list[Any]:
    """The script's ARGV for one check. ``now`` is for tests of the arithmetic only; production sends none."""
    args: list[Any] = [op, cost]
    for spec in specs:
        if isinstance(spec, TokenBucketSpec):
            args.append(f"1 {spec.limit} {spec.window} {spec.burst}")
        else:
            args.append(f"2 {spec.limit} {spec.window} 0")
    if now is not None:
        args.append(now)
    return args


def parse_reply(reply: Any) -> list[Step]:
    """The script's reply (four integers per policy) as steps; the states stay in Redis."""
    return [
        Step(reply[i] == 1, reply[i + 1], reply[i + 2], None if reply[i + 3] < 0 else reply[i + 3], ())
        for i in range(0, len(reply), 4)
    ]


class _EncodedArgs:
    """The ARGV of the last check, encoded: the same limiter sends the same arguments again and again.

    Kept as bytes, which redis-py sends as they are instead of converting every
    number on every call.
    """

    def __init__(self) -> None:
        self._last: tuple[Sequence[Spec], int, str, list[Any]] | None = None

    def args(self, specs: Sequence[Spec], cost: int, op: str, now: int | None) -> list[Any]:
        last = self._last
        if now is None and last is not None and last[0] is specs and last[1] == cost and last[2] == op:
            return last[3]
        args = [str(arg).encode("ascii") for arg in script_args(specs, cost, op, now)]
        if now is None:
            self._last = (specs, cost, op, args)  # holds ``specs``: its identity cannot be reused meanwhile
        return args


class RedisStore(_EncodedArgs):
    """Rate-limit state in Redis, for many processes (redis-py, sync).

    Args:
        client: An existing ``redis.Redis`` (or ``RedisCluster``) client, or a URL
            such as ``"redis://localhost:6379/0"``; a client made from a URL gets
            short socket timeouts (0.25 s).

    Every key carries a TTL equal to how long its state matters. Driver errors
    become :class:`StoreError`, which the limiter's failure policy handles.
    """

    def __init__(self, client: Any) -> None:
        super().__init__()
        if isinstance(client, str):
            client = redis.Redis.from_url(
                client, socket_timeout=DEFAULT_TIMEOUT, socket_connect_timeout=DEFAULT_TIMEOUT
            )
        self.client = client

    def apply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """One atomic check: one EVALSHA, whatever the number of policies."""
        return self._apply(keys, specs, cost, op, None)

    def _apply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str, now: int | None) -> list[Step]:
        args = self.args(specs, cost, op, now)
        try:
            try:
                reply = self.client.execute_command("EVALSHA", SHA, len(keys), *keys, *args)
            except NoScriptError:  # a restarted or flushed Redis: load the script, once, and again
                self.client.script_load(SCRIPT)
                reply = self.client.execute_command("EVALSHA", SHA, len(keys), *keys, *args)
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


class AsyncRedisStore(_EncodedArgs):
    """:class:`RedisStore` for asyncio (``redis.asyncio``): never blocks the event loop.

    Args:
        client: A URL, or an existing ``redis.asyncio.Redis`` client. A store made
            from a URL keeps one client per event loop (an asyncio connection
            belongs to the loop that opened it, and Django runs each async view
            served over WSGI on a loop of its own), each with short socket
            timeouts (0.25 s) and at most 100 checks in flight, so at most 100
            connections: a burst of concurrent checks beyond that waits its turn
            (up to 2 s) rather than erroring. A client you pass is used as is,
            on the loop it belongs to; give it a ``BlockingConnectionPool`` for
            a bound on its connections.

    Close it with :meth:`aclose` on the loop that used it (in a lifespan handler).
    """

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._url = client if isinstance(client, str) else None
        self._fixed = None if isinstance(client, str) else (client, None)
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = weakref.WeakKeyDictionary()
        self._current: tuple[weakref.ref[asyncio.AbstractEventLoop], _LoopClient] | None = None

    def _for_loop(self) -> _LoopClient:
        if self._fixed is not None:
            return self._fixed
        loop = asyncio.get_running_loop()
        current = self._current  # the loop of the last call, almost always this one
        if current is not None and current[0]() is loop:
            return current[1]
        pair = self._per_loop.get(loop)
        if pair is None:
            # A plain pool, bounded by the turns: redis-py's BlockingConnectionPool
            # does the same with a condition and a timer on every command, which
            # cost a check about a sixth of its time.
            client = redis.asyncio.Redis.from_url(
                self._url or "", socket_timeout=DEFAULT_TIMEOUT, socket_connect_timeout=DEFAULT_TIMEOUT
            )
            pair = self._per_loop[loop] = (client, _Turns(MAX_CONNECTIONS))
        self._current = (weakref.ref(loop), pair)
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
            self._current = None
        await client.aclose()

    async def aapply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """One atomic check: one EVALSHA, whatever the number of policies."""
        return await self._aapply(keys, specs, cost, op, None)

    async def _aapply(
        self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str, now: int | None
    ) -> list[Step]:
        args = self.args(specs, cost, op, now)
        client, turns = self._for_loop()
        if turns is not None and not turns.take():
            await turns.wait()
        try:
            try:
                reply = await client.execute_command("EVALSHA", SHA, len(keys), *keys, *args)
            except NoScriptError:  # a restarted or flushed Redis: load the script, once, and again
                await client.script_load(SCRIPT)
                reply = await client.execute_command("EVALSHA", SHA, len(keys), *keys, *args)
        except redis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        finally:
            if turns is not None:
                turns.give()
        return parse_reply(reply)

    async def aclear(self, keys: Sequence[str]) -> None:
        """Delete ``keys``."""
        client, turns = self._for_loop()
        if turns is not None and not turns.take():
            await turns.wait()
        try:
            await client.delete(*keys)
        except redis.RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        finally:
            if turns is not None:
                turns.give()


class _Turns:
    """At most ``size`` checks in flight on one loop's client; the others queue, up to ``QUEUE_TIMEOUT``.

    What ``asyncio.Semaphore`` does, but a free turn is taken without an await
    (its ``acquire`` is a coroutine even then), and waiting ends in a StoreError.
    """

    def __init__(self, size: int) -> None:
        self.free = size
        self._queue: collections.deque[asyncio.Future[None]] = collections.deque()

    def take(self) -> bool:
        """Take a free turn now, if there is one and nobody is queueing for it."""
        if self.free > 0 and not self._queue:
            self.free -= 1
            return True
        return False

    async def wait(self) -> None:
        """Queue for a turn (first come, first served)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(waiter)
        try:
            await asyncio.wait_for(waiter, QUEUE_TIMEOUT)  # a future, not a coroutine: no task made
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.give()  # handed a turn just as it gave up: pass it on
            elif waiter in self._queue:
                self._queue.remove(waiter)
            if isinstance(exc, asyncio.TimeoutError):
                raise StoreError(f"redis: no connection free within {QUEUE_TIMEOUT} s") from exc
            raise

    def give(self) -> None:
        """Hand the turn to the first in the queue, or free it."""
        while self._queue:
            waiter = self._queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1
