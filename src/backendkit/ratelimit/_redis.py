"""``RedisStore`` and ``AsyncRedisStore``: one Lua script, one round trip per check.

Both run the same script (``lua/check.lua``, the twin of ``_algorithms.py``) and
share everything but the call itself: the script is sent by its SHA with
EVALSHA, and loaded when Redis answers NOSCRIPT (first use, SCRIPT FLUSH, a
restart). The clock is Redis ``TIME``, read inside the script.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Callable, Sequence
from importlib.resources import files
from typing import Any

from backendkit._extras import require
from backendkit.errors import ConfigurationError
from backendkit.ratelimit._algorithms import Spec, Step, TokenBucketSpec
from backendkit.ratelimit._store import StoreError
from backendkit.ratelimit._turns import CheckQueue

require("redis", extra="redis", module="backendkit.ratelimit (Redis stores)")

import redis  # noqa: E402  (after the extra check, which names the extra to install)
import redis.asyncio  # noqa: E402
from redis.exceptions import NoScriptError  # noqa: E402

from backendkit._redis_clients import (  # noqa: E402
    DEFAULT_TIMEOUT,
    bounded_client,
    check_timeout,
    client_from_url,
    forget_closed_loops,
)

SCRIPT = files("backendkit.ratelimit").joinpath("lua/check.lua").read_text(encoding="utf-8")
# The script's name in Redis (what SCRIPT LOAD answers): SHA-1 is Redis's choice, not a security measure.
SHA = hashlib.sha1(SCRIPT.encode("utf-8"), usedforsecurity=False).hexdigest().encode("ascii")
_LoopClient = tuple[Any, CheckQueue]  # a loop's client, and the queue of its checks
# A timeout that fires this much later than it was due (relative to the timeout) was held up by the
# loop, not by Redis: asyncio's timers fire within a millisecond or two of their time on a free loop.
_LATE = 1.02


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
        client: A URL such as ``"redis://localhost:6379/0"``, or a ``redis.Redis``
            (or ``RedisCluster``) client.
        timeout: The longest a check waits on Redis, in seconds, for a connection
            or a reply. A dead Redis costs a check at most this, whatever the
            client: a client whose own timeouts are longer, or that retries (as
            ``redis.Redis()`` does by default), lends the store its settings and
            the store opens connections of its own, with this timeout and no
            retries. A Cluster client must bound its waits itself (a
            ``ConfigurationError`` says how).

    Every key carries a TTL equal to how long its state matters. Driver errors
    become :class:`StoreError`, which the limiter's failure policy handles.
    """

    def __init__(self, client: Any, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.timeout = check_timeout(timeout)
        if isinstance(client, (redis.asyncio.Redis, redis.asyncio.RedisCluster)):
            raise ConfigurationError("RedisStore needs a sync client; an asyncio one goes to AsyncRedisStore")
        given = client
        if isinstance(client, str):
            client = client_from_url(client, self.timeout, asyncio=False)
        else:
            client = bounded_client(client, self.timeout)()
        self.client = client
        if client is not given:  # connections of the store's own: closed with it, at the latest
            weakref.finalize(self, client.close)

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
        client: A URL, or a ``redis.asyncio.Redis`` (or ``RedisCluster``) client.
        timeout: The longest a check waits on Redis for a connection or a reply
            (see :class:`RedisStore`: a client that could wait longer lends its
            settings, and the store opens connections of its own).

    The store keeps one client per event loop (an asyncio connection belongs to
    the loop that opened it, and Django runs each async view served over WSGI on
    a loop of its own), except for a client given with bounded settings, which
    is used as it is, on the loop it belongs to. On each loop at most 100 checks
    are in flight, so at most 100 connections; a loop starts with 4 and lets one
    more in each time a check succeeds while others wait, so a burst on a cold
    worker opens connections as fast as they prove to work rather than all at
    once. A check beyond them waits its turn (up to 2 s); when Redis cannot be
    reached, every waiting check fails over at once.

    Close it with :meth:`aclose` on the loop that used it (in a lifespan handler).
    """

    def __init__(self, client: Any, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.timeout = check_timeout(timeout)
        make: Callable[[], Any]
        if isinstance(client, str):
            url = client
            make = lambda: client_from_url(url, self.timeout, asyncio=True)  # noqa: E731
        elif isinstance(client, (redis.Redis, redis.RedisCluster)):
            raise ConfigurationError("AsyncRedisStore needs an asyncio client; a sync one goes to RedisStore")
        else:
            make = bounded_client(client, self.timeout)
        self._make = make
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = weakref.WeakKeyDictionary()
        self._current: tuple[weakref.ref[asyncio.AbstractEventLoop], _LoopClient] | None = None

    def _for_loop(self) -> _LoopClient:
        loop = asyncio.get_running_loop()
        current = self._current  # the loop of the last call, almost always this one
        if current is not None and current[0]() is loop:
            return current[1]
        pair = self._per_loop.get(loop)
        if pair is None:
            forget_closed_loops(self._per_loop)
            # A plain pool, bounded by the queue: redis-py's BlockingConnectionPool does
            # the same with a condition and a timer on every command, which cost a
            # check about a sixth of its time.
            client = self._make()
            # Never more checks in flight than the client's pool has connections: past them
            # redis-py raises "Too many connections", which would fail every waiting check.
            connections = getattr(getattr(client, "connection_pool", None), "max_connections", None)
            pair = self._per_loop[loop] = (client, CheckQueue(connections=connections))
        self._current = (weakref.ref(loop), pair)
        return pair

    @property
    def client(self) -> Any:
        """The client this store uses on the running event loop."""
        return self._for_loop()[0]

    async def aclose(self) -> None:
        """Close the client of the running loop, releasing its connections."""
        client = self._for_loop()[0]
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
        return parse_reply(await self._run("EVALSHA", SHA, len(keys), *keys, *args))

    async def aclear(self, keys: Sequence[str]) -> None:
        """Delete ``keys``."""
        await self._run("DEL", *keys)

    async def _run(self, *command: Any) -> Any:
        """One command, in its turn in this loop's queue of checks; driver errors become StoreError.

        A command whose timeout fired late, because this event loop was too busy to
        notice the reply in time (a cold worker under a burst, a long GC pause),
        tries once more, in its turn: that is not an outage. A timeout that fires on
        time means Redis did not answer, and the check fails over after ``timeout``.
        A retried EVALSHA that Redis did run counts twice: stricter, never looser.
        """
        client, queue = self._for_loop()
        loop = asyncio.get_running_loop()
        retried = False
        while True:
            if not queue.take():
                await queue.wait()
            started = loop.time()
            succeeded = False
            try:
                try:
                    reply = await client.execute_command(*command)
                except NoScriptError:  # a restarted or flushed Redis: load the script, once, and again
                    await client.script_load(SCRIPT)
                    reply = await client.execute_command(*command)
                succeeded = True
                return reply
            except redis.TimeoutError as exc:  # Redis hangs, or this loop was blocked: see CheckQueue
                now = loop.time()
                suspected_only = queue.timed_out(started, now, exc)
                if retried or not suspected_only or now - started < self.timeout * _LATE:
                    raise StoreError(f"redis: {exc}") from exc
                retried = True
            except redis.ConnectionError as exc:  # refused or reset: Redis is down
                queue.unreachable(exc)
                raise StoreError(f"redis: {exc}") from exc
            except redis.RedisError as exc:
                raise StoreError(f"redis: {exc}") from exc
            finally:
                queue.done(succeeded=succeeded)
