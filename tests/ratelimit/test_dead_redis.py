"""A stopped or hung Redis, behind any client: no check waits longer than the store's timeout.

``redis.Redis()`` with its defaults retries a failed connection with back-off: a
store given one took 3.8 to 8.9 s for its first check on a stopped Redis, and
after every retry interval each waiting request probed the dead server again.
A hung Redis (it accepts connections and never answers) is counted, not only
timed: the blackhole counts the connections made to it, one per attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from backendkit.errors import ConfigurationError
from backendkit.ratelimit import AsyncRateLimiter, AsyncRedisStore, RateLimiter, RedisStore, SlidingWindow
from backendkit.stores.redis._turns import FIRST_IN_FLIGHT
from tests.support.net import Blackhole, blackhole, free_port

TIMEOUT = 0.25
# A busy machine's scheduling. A retrying client took 3.8 s or more, so a bound under that
# still tells the two apart; what a check waited for is proven by counting connections.
SLACK = 2.0

SYNC_CLIENTS: dict[str, Callable[[int], Any]] = {
    "a URL": lambda port: f"redis://127.0.0.1:{port}/0",
    "redis.Redis() as it comes": lambda port: redis.Redis(host="127.0.0.1", port=port),
    "a blocking pool": lambda port: redis.Redis(
        connection_pool=redis.BlockingConnectionPool(host="127.0.0.1", port=port)
    ),
}
ASYNC_CLIENTS: dict[str, Callable[[int], Any]] = {
    "a URL": lambda port: f"redis://127.0.0.1:{port}/0",
    "redis.asyncio.Redis() as it comes": lambda port: redis.asyncio.Redis(host="127.0.0.1", port=port),
    "a blocking pool": lambda port: redis.asyncio.Redis(
        connection_pool=redis.asyncio.BlockingConnectionPool(host="127.0.0.1", port=port)
    ),
}


@contextmanager
def dead_redis(kind: str) -> Iterator[tuple[int, Blackhole | None]]:
    """A port where Redis is stopped (nothing listens) or hung (a blackhole)."""
    if kind == "stopped":
        yield free_port(), None
    else:
        with blackhole() as hole:
            yield hole.port, hole


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


@pytest.mark.parametrize("kind", ["stopped", "hung"])
@pytest.mark.parametrize("make", list(SYNC_CLIENTS.values()), ids=list(SYNC_CLIENTS))
def test_a_sync_check_waits_at_most_the_timeout(make: Callable[[int], Any], kind: str) -> None:
    with dead_redis(kind) as (port, hole):
        store = RedisStore(make(port), timeout=TIMEOUT)
        limiter = RateLimiter(SlidingWindow("5/minute"), store, on_store_error="closed")
        elapsed, decision = timed(lambda: limiter.hit("ann"))
        assert not decision.allowed  # the failure path, closed
        assert elapsed < TIMEOUT + SLACK
        if hole is not None:
            assert hole.accepted == 1  # one attempt, no retry
        store.close()


@pytest.mark.parametrize("kind", ["stopped", "hung"])
@pytest.mark.parametrize("make", list(ASYNC_CLIENTS.values()), ids=list(ASYNC_CLIENTS))
def test_an_async_check_waits_at_most_the_timeout(make: Callable[[int], Any], kind: str) -> None:
    async def main(port: int) -> tuple[float, bool]:
        store = AsyncRedisStore(make(port), timeout=TIMEOUT)
        limiter = AsyncRateLimiter(SlidingWindow("5/minute"), store, on_store_error="closed")
        started = time.monotonic()
        decision = await limiter.hit("ann")
        elapsed = time.monotonic() - started
        await store.aclose()
        return elapsed, decision.allowed

    with dead_redis(kind) as (port, hole):
        elapsed, allowed = asyncio.run(main(port))
        assert not allowed
        assert elapsed < TIMEOUT + SLACK
        if hole is not None:
            # One attempt; two if a busy machine made the timeout fire late (then the store
            # cannot tell Redis from its own loop, and tries once more).
            assert hole.accepted <= 2


def test_after_the_retry_interval_one_check_probes_and_the_others_do_not_wait() -> None:
    with blackhole() as hole:
        store = RedisStore(redis.Redis(host="127.0.0.1", port=hole.port), timeout=TIMEOUT)
        limiter = RateLimiter(SlidingWindow("5/minute"), store, retry_interval=0.3)
        assert limiter.hit("ann").allowed  # failed open; the store is left alone for 0.3 s
        assert hole.accepted == 1
        time.sleep(0.35)
        with ThreadPoolExecutor(max_workers=8) as pool:
            timings = list(pool.map(lambda _: timed(lambda: limiter.hit("ann"))[0], range(8)))
        assert hole.accepted == 2  # one probe; seven requests went on without touching the store
        probe = max(timings)
        assert probe >= TIMEOUT  # the probe waited for the hung server...
        assert sum(t < probe for t in timings) == 7  # ...and each of the others was done before it
        store.close()


def test_after_the_retry_interval_one_task_probes_and_the_others_do_not_wait() -> None:
    async def main(port: int) -> None:
        store = AsyncRedisStore(f"redis://127.0.0.1:{port}/0", timeout=TIMEOUT)
        limiter = AsyncRateLimiter(SlidingWindow("5/minute"), store, retry_interval=0.3)
        assert (await limiter.hit("ann")).allowed
        await asyncio.sleep(0.35)
        decisions = await asyncio.gather(*(limiter.hit("ann") for _ in range(8)))
        assert all(d.allowed for d in decisions)
        await store.aclose()

    with blackhole() as hole:
        asyncio.run(main(hole.port))
        # The first check, then one probe (which tries once more if a busy machine made its
        # timeout fire late); the seven others went on without touching the store.
        assert 2 <= hole.accepted <= 3


def test_a_burst_on_a_hung_redis_fails_over_together() -> None:
    # 200 concurrent checks: a few connect and time out, one more tries and times out too,
    # and then every waiting check fails over, instead of queueing for turns behind 100
    # connections that each time out.
    # Counted, not timed: a check queued for its turn would have opened a connection of its own.
    async def main(port: int) -> None:
        store = AsyncRedisStore(f"redis://127.0.0.1:{port}/0", timeout=TIMEOUT)
        limiter = AsyncRateLimiter(SlidingWindow("5/minute"), store, on_store_error="closed")
        decisions = await asyncio.gather(*(limiter.hit(f"c{n}") for n in range(200)))
        assert not any(d.allowed for d in decisions)
        await store.aclose()

    with blackhole() as hole:
        asyncio.run(main(hole.port))
        assert hole.accepted <= FIRST_IN_FLIGHT + 1


def test_a_client_bounded_already_is_used_as_it_is() -> None:
    bounded = {"socket_timeout": 0.1, "socket_connect_timeout": 0.1, "retry": Retry(NoBackoff(), 0)}
    client = redis.Redis(host="127.0.0.1", port=free_port(), **bounded)
    assert RedisStore(client).client is client
    retrying = redis.Redis(host="127.0.0.1", port=free_port(), **{**bounded, "retry": Retry(NoBackoff(), 1)})
    assert RedisStore(retrying).client is not retrying
    slow = redis.Redis(host="127.0.0.1", port=free_port(), **{**bounded, "socket_timeout": 1.0})
    assert RedisStore(slow).client is not slow


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), "1", True])
def test_the_timeout_is_a_positive_number_of_seconds(timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        RedisStore("redis://127.0.0.1:1/0", timeout=timeout)


def test_a_store_of_the_other_kind_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="AsyncRedisStore"):
        RedisStore(redis.asyncio.Redis())
    with pytest.raises(ConfigurationError, match="RedisStore"):
        AsyncRedisStore(redis.Redis())
