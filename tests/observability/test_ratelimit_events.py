"""RateLimitDecided from Limit.check and acheck: every outcome, the tightest policy's name, a dead Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from backendkit.observability import observe
from backendkit.observability._core.events import BreakerChanged, RateLimitDecided, StoreFailed
from backendkit.ratelimit import (
    AsyncRedisStore,
    Limit,
    MemoryStore,
    RedisStore,
    RequestInfo,
    SlidingWindow,
    TokenBucket,
)
from tests.support.net import free_port
from tests.support.observing import RecordingObserver

TIMEOUT = 0.25


def info() -> RequestInfo:
    return RequestInfo(method="GET", path="/x", peer="192.0.2.1", headers=lambda name: [], native=None)


def decided(seen: RecordingObserver) -> list[tuple[str, str]]:
    return [(e.policy, e.outcome) for e in seen.of(RateLimitDecided)]


@pytest.fixture
def seen() -> Iterator[RecordingObserver]:
    observer = RecordingObserver()
    with observe(observer):
        yield observer


@pytest.fixture
def dead_url() -> str:
    """A Redis URL where nothing listens (a stopped server)."""
    return f"redis://127.0.0.1:{free_port()}/0"


def test_allowed_then_limited(seen: RecordingObserver) -> None:
    limit = Limit("2/minute")
    for _ in range(3):
        limit.check(info(), per_route=False)
    assert decided(seen) == [("2-per-60s", "allowed"), ("2-per-60s", "allowed"), ("2-per-60s", "limited")]
    assert all(e.duration > 0 for e in seen.of(RateLimitDecided))


def test_a_shadow_limit_is_shadow_limited(seen: RecordingObserver) -> None:
    limit = Limit(SlidingWindow("1/minute", name="trial"), shadow=True)
    verdicts = [limit.check(info(), per_route=False) for _ in range(2)]
    assert all(v is not None and v.error is None for v in verdicts)  # a shadow limit refuses nothing
    assert decided(seen) == [("trial", "allowed"), ("trial", "shadow_limited")]


def test_an_exempt_request_is_no_decision(seen: RecordingObserver) -> None:
    limit = Limit("1/minute", exempt_when=lambda request: True)
    assert limit.check(info(), per_route=False) is None
    assert seen.events == []


def test_the_refusing_policy_is_named(seen: RecordingObserver) -> None:
    limit = Limit([TokenBucket("10/second", burst=2, name="burst"), TokenBucket("3/hour", name="hourly")])
    verdicts = [limit.check(info(), per_route=False) for _ in range(3)]
    refused = verdicts[2]
    assert refused is not None
    assert refused.error is not None
    assert decided(seen)[2] == (refused.error.details["policy"], "limited") == ("burst", "limited")


def test_the_tightest_admitting_policy_is_named_even_when_two_have_as_much_left(seen: RecordingObserver) -> None:
    # One hit leaves 2 of 3 in both; the tightest is the one that resets last: the hourly one.
    limit = Limit([SlidingWindow("3/second", name="second"), SlidingWindow("3/hour", name="hour")])
    verdict = limit.check(info(), per_route=False)
    assert verdict is not None
    assert verdict.headers  # what the client is told describes the tightest policy...
    assert verdict.decision.reset_after > 1
    assert decided(seen) == [("hour", "allowed")]  # ...and so does the event


def test_the_async_check_tells_the_same(seen: RecordingObserver) -> None:
    async def main() -> None:
        limit = Limit("1/minute")
        await limit.acheck(info(), per_route=False)
        await limit.acheck(info(), per_route=False)

    asyncio.run(main())
    assert decided(seen) == [("1-per-60s", "allowed"), ("1-per-60s", "limited")]


@pytest.mark.parametrize(("policy", "outcome"), [("open", "failed_open"), ("closed", "failed_closed")])
def test_a_dead_redis_fails_open_or_closed(seen: RecordingObserver, dead_url: str, policy: str, outcome: str) -> None:
    store = RedisStore(dead_url, timeout=TIMEOUT)
    try:
        limit = Limit(SlidingWindow("5/minute", name="api"), store=store, on_store_error=policy)  # type: ignore[arg-type]
        limit.check(info(), per_route=False)
        limit.check(info(), per_route=False)  # the breaker is open: the store is not asked
    finally:
        store.close()
    assert decided(seen) == [("api", outcome), ("api", outcome)]
    assert seen.of(StoreFailed) == [StoreFailed("ratelimit")]  # one failure: the second check did not ask
    assert seen.of(BreakerChanged) == [BreakerChanged("ratelimit", open=True)]


@pytest.mark.parametrize(("policy", "outcome"), [("open", "failed_open"), ("closed", "failed_closed")])
def test_a_dead_redis_fails_open_or_closed_from_async_code(
    seen: RecordingObserver, dead_url: str, policy: str, outcome: str
) -> None:
    async def main() -> None:
        store = AsyncRedisStore(dead_url, timeout=TIMEOUT)
        try:
            limit = Limit("5/minute", store=store, on_store_error=policy)  # type: ignore[arg-type]
            await limit.acheck(info(), per_route=False)
        finally:
            await store.aclose()

    asyncio.run(main())
    assert decided(seen) == [("5-per-60s", outcome)]
    assert seen.of(StoreFailed) == [StoreFailed("ratelimit")]


def test_a_fallback_store_decides_as_usual_and_the_failure_is_counted(seen: RecordingObserver, dead_url: str) -> None:
    store = RedisStore(dead_url, timeout=TIMEOUT)
    try:
        limit = Limit("1/minute", store=store, fallback=MemoryStore(), retry_interval=0.01)
        limit.check(info(), per_route=False)
        limit.limiter.breaker.clock = lambda: float("inf")  # the retry interval is over: the next check asks again
        limit.check(info(), per_route=False)
    finally:
        store.close()
    assert decided(seen) == [("1-per-60s", "allowed"), ("1-per-60s", "limited")]
    assert seen.of(StoreFailed) == [StoreFailed("ratelimit"), StoreFailed("ratelimit")]  # each failure
    assert seen.of(BreakerChanged) == [BreakerChanged("ratelimit", open=True)]  # opened once
