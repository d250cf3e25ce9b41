"""The limiter's cases on every store: in memory, on Redis, sync and async, from one fixture.

The Redis stores run a Lua script that is the twin of the pure step functions, and
the async limiter is the twin of the sync one; these cases hold all four
combinations to the same answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from backendkit.ratelimit import (
    AsyncRateLimiter,
    AsyncRedisStore,
    Decision,
    MemoryStore,
    Policy,
    RateLimiter,
    RedisStore,
    SlidingWindow,
    TokenBucket,
)
from tests.support.redis import RedisServer

STORES = ["memory", "memory-async", "redis", "redis-async"]


class Limiter:
    """A limiter on one store, driven the same way whether it is sync or async."""

    def __init__(self, limiter: RateLimiter | AsyncRateLimiter, loop: asyncio.AbstractEventLoop | None) -> None:
        self.limiter = limiter
        self.loop = loop

    def _run(self, method: str, *args: Any) -> Any:
        result = getattr(self.limiter, method)(*args)
        return self.loop.run_until_complete(result) if self.loop is not None else result

    def hit(self, key: str, cost: int = 1) -> Decision:
        return self._run("hit", key, cost)  # type: ignore[no-any-return]

    def peek(self, key: str) -> Decision:
        return self._run("peek", key)  # type: ignore[no-any-return]

    def refund(self, key: str, cost: int = 1) -> Decision:
        return self._run("refund", key, cost)  # type: ignore[no-any-return]

    def reset(self, key: str) -> None:
        self._run("reset", key)

    def concurrently(self, key: str, count: int) -> int:
        """``count`` hits at once (threads for a sync limiter, tasks for an async one): how many pass."""
        if self.loop is None:
            limiter = self.limiter
            assert isinstance(limiter, RateLimiter)
            with ThreadPoolExecutor(max_workers=8) as pool:
                return sum(pool.map(lambda _: limiter.hit(key).allowed, range(count)))

        async def burst() -> int:
            decisions = await asyncio.gather(*(self.limiter.hit(key) for _ in range(count)))
            return sum(d.allowed for d in decisions)  # type: ignore[union-attr]

        return self.loop.run_until_complete(burst())


Make = Callable[..., Limiter]


@pytest.fixture(params=STORES)
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    """``make(policies, **options)``: a limiter of that kind, on a store of its own (a fresh Redis database)."""
    kind: str = request.param
    asynchronous = kind.endswith("async")
    loop = asyncio.new_event_loop() if asynchronous else None
    closers: list[Callable[[], Any]] = []
    url = None
    if kind.startswith("redis"):
        server: RedisServer = request.getfixturevalue("redis_server")
        url = server.url
        redis.Redis.from_url(url).flushdb()

    def build(policies: Policy | list[Policy], **options: Any) -> Limiter:
        if url is None:
            store: Any = MemoryStore()
        elif asynchronous:
            store = AsyncRedisStore(url)
            closers.append(lambda: loop.run_until_complete(store.aclose()))  # type: ignore[union-attr]
        else:
            store = RedisStore(url)
            closers.append(store.close)
        kind_of = AsyncRateLimiter if asynchronous else RateLimiter
        return Limiter(kind_of(policies, store, on_store_error="closed", **options), loop)

    try:
        yield build
    finally:
        for close in closers:
            close()
        if loop is not None:
            loop.close()


def test_the_decision_reports_the_tightest_policy_and_every_policy(make: Make) -> None:
    limiter = make([TokenBucket("10/second", burst=20), SlidingWindow("3/hour")])
    first = limiter.hit("ann")
    assert (first.allowed, first.limit, first.remaining) == (True, 3, 2)  # the hourly window is tightest
    assert [(p.name, p.limit, p.remaining) for p in first.policies] == [("10-per-1s", 20, 19), ("3-per-3600s", 3, 2)]
    limiter.hit("ann")
    limiter.hit("ann")
    denied = limiter.hit("ann")
    assert not denied.allowed
    assert denied.limit == 3
    assert denied.retry_after is not None
    assert denied.retry_after > 0
    assert denied.policies[0].remaining == 17  # all or nothing: the bucket was not charged for the refusal
    assert limiter.peek("ann").policies[0].remaining == 16  # a peek tells what a hit would leave


def test_keys_are_per_client(make: Make) -> None:
    limiter = make(SlidingWindow("1/minute"), prefix="app:")
    assert limiter.hit("ann").allowed
    assert limiter.hit("bob").allowed
    assert not limiter.hit("ann").allowed
    assert limiter.limiter.keys("ann") == ["app:{ann}:sliding_window:1:60"]


def test_peek_refund_and_reset(make: Make) -> None:
    limiter = make(TokenBucket("2/minute"))
    assert limiter.peek("k").remaining == 1  # what a hit would leave
    assert limiter.hit("k", cost=2).allowed
    assert not limiter.peek("k").allowed
    assert limiter.refund("k").remaining == 1
    assert limiter.hit("k").allowed
    limiter.reset("k")
    assert limiter.hit("k", cost=2).allowed


def test_one_policy_is_one_policy_whatever_the_path(make: Make) -> None:
    # One policy in memory takes a path of its own; every store answers alike.
    limiter = make(SlidingWindow("5/minute", name="m"))
    decisions = [limiter.hit("solo") for _ in range(6)]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[0].policies[0].name == "m"
    assert decisions[-1].retry_after is not None


@pytest.mark.parametrize("policy", [SlidingWindow("150/hour"), TokenBucket("150/hour")], ids=["window", "bucket"])
def test_concurrent_hits_admit_exactly_the_limit(make: Make, policy: Policy) -> None:
    assert make(policy).concurrently("hot", 200) == 150
