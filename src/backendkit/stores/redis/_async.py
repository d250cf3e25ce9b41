"""``AsyncRedisConnection``: :class:`~backendkit.stores.redis.RedisConnection` for asyncio, a client per loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable
from typing import Any

import redis

from backendkit.errors import ConfigurationError
from backendkit.stores.redis._calls import Call, Script
from backendkit.stores.redis._clients import (
    DEFAULT_TIMEOUT,
    bounded_client,
    check_timeout,
    checked_url,
    client_from_url,
    forget_closed_loops,
)
from backendkit.stores.redis._turns import CheckQueue

_LoopClient = tuple[Any, CheckQueue]  # a loop's client, and the queue of its commands


class AsyncRedisConnection:
    """What an asyncio Redis store is built on (``redis.asyncio``): never blocks the event loop.

    Args:
        client: A URL (checked now), or a ``redis.asyncio.Redis`` or ``RedisCluster`` client.
        timeout: The longest each wait on Redis lasts (see :class:`RedisConnection`).

    An asyncio connection belongs to the loop that opened it, so the store keeps one
    client per event loop (Django runs each async view served over WSGI on a loop of
    its own) and forgets those of closed loops; a client given with bounded settings
    is used as it is on the first loop that uses it, and copied (same settings) for
    any other loop. On each loop at most 100 commands
    are in flight (so at most 100 connections), starting with 4 and letting one more
    in each time one succeeds while others wait; when Redis cannot be reached, every
    waiting command fails over at once (``_turns.py``).

    Close it with :meth:`aclose` on each loop that used it (in a lifespan handler); a
    client the application gave as it is stays the application's.
    """

    # Whether a command whose timeout fired late (the loop was busy, not Redis) goes again, in its turn.
    retry_late_timeouts = False

    def __init__(self, client: Any, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        name = type(self).__name__
        if isinstance(client, (redis.Redis, redis.RedisCluster)):
            raise ConfigurationError(f"{name} needs an asyncio client; a sync one goes to {name.removeprefix('Async')}")
        self.timeout = check_timeout(timeout)
        self._given = client
        make: Callable[[], Any]
        if isinstance(client, str):
            url, timeout = checked_url(client), self.timeout  # (not self: no cycle, the store goes with its last use)
            make = lambda: client_from_url(url, timeout, asyncio=True)  # noqa: E731
        else:
            make = bounded_client(client, self.timeout)
        self._make = make
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = weakref.WeakKeyDictionary()
        self._current: tuple[weakref.ref[asyncio.AbstractEventLoop], _LoopClient] | None = None
        self._loops_lock = threading.Lock()

    def _for_loop(self, loop: asyncio.AbstractEventLoop) -> _LoopClient:
        current = self._current  # the loop of the last call, almost always this one
        if current is not None and current[0]() is loop:
            return current[1]
        pair = self._per_loop.get(loop)
        if pair is None:
            # Loops of other threads (Django's async views under WSGI) arrive here at once.
            with self._loops_lock:
                pair = self._per_loop.get(loop)
                if pair is None:
                    forget_closed_loops(self._per_loop)
                    # A plain pool, bounded by the queue: redis-py's BlockingConnectionPool does
                    # the same with a condition and a timer on every command, which cost a
                    # check about a sixth of its time.
                    client = self._make()
                    # Never more commands in flight than the client's pool has connections: past them
                    # redis-py raises "Too many connections", which would fail every waiting command.
                    connections = getattr(getattr(client, "connection_pool", None), "max_connections", None)
                    pair = self._per_loop[loop] = (client, CheckQueue(connections=connections))
        self._current = (weakref.ref(loop), pair)
        return pair

    @property
    def client(self) -> Any:
        """The client this store uses on the running event loop (a readiness check pings it)."""
        return self._for_loop(asyncio.get_running_loop())[0]

    async def acall(
        self, *command: Any, script: Script | None = None, repeatable: bool = False, late_retry: bool | None = None
    ) -> Any:
        """Send ``command`` in its turn on this loop: its reply, or StoreUnavailable (see ``_calls.Call``).

        ``late_retry`` (the class's ``retry_late_timeouts`` when ``None``) lets a command whose
        timeout fired late go again; give ``False`` for one that would loosen a limit if Redis
        ran it twice (a refund).
        """
        loop = asyncio.get_running_loop()
        (client, queue), call = self._for_loop(loop), Call(command, script, repeatable)
        while True:
            if not queue.take():
                await queue.wait()
            started, succeeded = loop.time(), False
            try:
                reply = await call.asend(client)
                succeeded = True
                return reply
            except Exception as exc:
                again = self.retry_late_timeouts if late_retry is None else late_retry
                late = self.timeout if again else None
                call.failed(exc, queue, started, loop.time(), late)  # raises, unless it goes again
            finally:
                queue.done(succeeded=succeeded)

    async def aclose(self) -> None:
        """Close the client the store opened for the running event loop (never one the application gave)."""
        with self._loops_lock:
            found = self._per_loop.pop(asyncio.get_running_loop(), None)
        self._current = None
        if found is not None and found[0] is not self._given:
            # A connection that cannot say goodbye within the socket timeout (a loaded or dead
            # server) is dropped all the same: closing is not a command whose failure matters.
            with contextlib.suppress(redis.RedisError, OSError):
                await found[0].aclose()


__all__ = ["AsyncRedisConnection"]
