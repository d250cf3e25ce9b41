"""A check in flight leaves nothing for the collector: the async Redis path makes no reference cycles.

Counted, not timed: the collector is stopped, CONCURRENT tasks run CHECKS checks each against a real
redis-server, and the collector then finds none of backendkit's objects unreachable. A first round
(connections opened, the loop's own objects) is collected before the count starts. Only backendkit's
objects are counted: redis-py 5.0 (the lowest allowed) leaves cycles of its own on some paths, which
the kernel neither makes nor can break; today's redis-py leaves none. Covered: the kernel's EVALSHA and its
NOSCRIPT reload, the rate limiter's ``AsyncRedisStore`` on top of it, checks that wait for their turn
(``asyncio.wait_for`` on a future), and a Redis that refuses connections (the failure path).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

from backendkit.ratelimit import AsyncRedisStore
from backendkit.ratelimit._core.algorithms import SlidingWindowSpec
from backendkit.stores import StoreUnavailable
from backendkit.stores.redis import AsyncRedisConnection, Script
from tests.support.net import free_port
from tests.support.redis import RedisServer

CONCURRENT, CHECKS = 16, 50
INCREMENT = Script("return redis.call('INCR', KEYS[1])")


@pytest.fixture
def collector_stopped() -> Iterator[None]:
    """The collector off for the test (what it finds at the end is what the checks left), on again after."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def ours_unreachable() -> int:
    """How many of backendkit's objects the collector finds unreachable now (kept aside to be named)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return sum(1 for found in gc.garbage if type(found).__module__.startswith("backendkit"))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def left_for_the_collector(
    connection: AsyncRedisConnection,
    check: Callable[[int], Awaitable[Any]],
    *,
    refused: bool = False,
    between: Callable[[], object] = lambda: None,
) -> int:
    """backendkit's objects that CONCURRENT x CHECKS checks left unreachable, after a first round (and ``between``)."""

    async def one(task: int, checks: int) -> None:
        for _ in range(checks):
            if refused:
                with pytest.raises(StoreUnavailable):
                    await check(task)
            else:
                await check(task)

    async def run() -> int:
        try:
            await asyncio.gather(*(one(task, 1) for task in range(CONCURRENT)))
            between()
            gc.collect()
            await asyncio.gather(*(one(task, CHECKS) for task in range(CONCURRENT)))
            return ours_unreachable()
        finally:
            await connection.aclose()

    return asyncio.run(run())


def test_kernel_checks_leave_no_cycles(redis_server: RedisServer, collector_stopped: None) -> None:
    connection = AsyncRedisConnection(redis_server.url)
    admin = redis.Redis.from_url(redis_server.url)
    try:
        found = left_for_the_collector(
            connection,
            lambda task: connection.acall("EVALSHA", INCREMENT.sha, 1, f"garbage:{task}", script=INCREMENT),
            between=admin.script_flush,  # the counted round's first EVALSHA meets NOSCRIPT and loads it
        )
        assert found == 0
        assert admin.get("garbage:0") == str(1 + CHECKS).encode()
    finally:
        admin.close()


def test_checks_waiting_for_their_turn_leave_no_cycles(redis_server: RedisServer, collector_stopped: None) -> None:
    """Two connections for sixteen tasks: most checks wait for a turn, every time."""
    client = redis.asyncio.Redis.from_url(
        redis_server.url, socket_timeout=0.5, socket_connect_timeout=0.5, max_connections=2
    )
    connection = AsyncRedisConnection(client)
    try:
        assert left_for_the_collector(connection, lambda task: connection.acall("INCR", f"garbage:turns:{task}")) == 0
    finally:
        asyncio.run(client.aclose())


def test_rate_limit_checks_leave_no_cycles(redis_server: RedisServer, collector_stopped: None) -> None:
    store = AsyncRedisStore(redis_server.url)
    specs = [SlidingWindowSpec(10**9, 60_000_000)]
    assert left_for_the_collector(store, lambda task: store.aapply([f"garbage:rl:{task}"], specs, 1, "hit")) == 0


def test_refused_checks_leave_no_cycles(collector_stopped: None) -> None:
    """Redis down: every check fails over (StoreUnavailable), and the failures leave nothing behind either."""
    connection = AsyncRedisConnection(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    found = left_for_the_collector(connection, lambda task: connection.acall("GET", "k", repeatable=True), refused=True)
    assert found == 0
