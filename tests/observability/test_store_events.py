"""A real redis-server stopped and started again: StoreFailed on each failure, the breaker opening and closing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from backendkit.idempotency import Idempotency, KeyedRequest
from backendkit.idempotency.redis import RedisStore as IdempotencyRedisStore
from backendkit.observability import observe
from backendkit.observability._core.events import BreakerChanged, IdempotencyBegun, RateLimitDecided, StoreFailed
from backendkit.ratelimit import Limit, RedisStore, RequestInfo
from tests.support.observing import RecordingObserver
from tests.support.redis import RedisServer, redis_binary, start_redis

pytestmark = pytest.mark.redis
RETRY = 0.05


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test stops and starts again."""
    server = start_redis(redis_binary())
    try:
        yield server
    finally:
        server.stop()


def info() -> RequestInfo:
    return RequestInfo(method="GET", path="/x", peer="192.0.2.1", headers=lambda name: [], native=None)


def test_the_rate_limit_breaker_opens_when_redis_dies_and_closes_when_it_is_back(own_redis: RedisServer) -> None:
    seen = RecordingObserver()
    store = RedisStore(own_redis.url, timeout=0.25)
    limit = Limit("100/minute", store=store, retry_interval=RETRY)
    try:
        with observe(seen):
            limit.check(info(), per_route=False)
            own_redis.stop()
            limit.check(info(), per_route=False)
            time.sleep(RETRY * 2)
            limit.check(info(), per_route=False)  # the probe: fails again
            restarted = start_redis(redis_binary(), port=own_redis.port)
            own_redis.process = restarted.process
            time.sleep(RETRY * 2)
            limit.check(info(), per_route=False)
            limit.check(info(), per_route=False)
    finally:
        store.close()
    kinds = [(type(e).__name__, getattr(e, "outcome", getattr(e, "open", None))) for e in seen.events]
    assert kinds == [
        ("RateLimitDecided", "allowed"),
        ("StoreFailed", None),
        ("BreakerChanged", True),
        ("RateLimitDecided", "failed_open"),
        ("StoreFailed", None),  # every failure, not only the first
        ("RateLimitDecided", "failed_open"),
        ("BreakerChanged", False),
        ("RateLimitDecided", "allowed"),
        ("RateLimitDecided", "allowed"),
    ]
    assert set(seen.of(StoreFailed)) == {StoreFailed("ratelimit")}
    assert [e.store for e in seen.of(BreakerChanged)] == ["ratelimit", "ratelimit"]
    assert len(seen.of(RateLimitDecided)) == 5


def test_the_idempotency_breaker_names_its_store(own_redis: RedisServer) -> None:
    seen = RecordingObserver()
    store = IdempotencyRedisStore(own_redis.url)
    keys = Idempotency(store, on_store_error="open", retry_interval=RETRY)
    try:
        own_redis.stop()
        with observe(seen):
            assert keys.start(KeyedRequest("POST", "/x", "", None, b"", ["k-1"])) is None  # runs without the store
    finally:
        store.close()
    assert seen.of(StoreFailed) == [StoreFailed("idempotency")]
    assert seen.of(BreakerChanged) == [BreakerChanged("idempotency", open=True)]
    assert [e.outcome for e in seen.of(IdempotencyBegun)] == ["store_error"]


def test_a_breaker_open_before_observing_is_not_told_closed() -> None:
    from backendkit.stores import Breaker

    now = [0.0]
    breaker = Breaker(1.0, logger="tests.breaker", what="the store", store="ratelimit", clock=lambda: now[0])
    breaker.failed(OSError("refused"), "failing open")  # nobody observes yet
    seen = RecordingObserver()
    with observe(seen):
        breaker.answered()  # the gauge was never raised for this outage: no -1 for it
        assert seen.of(BreakerChanged) == []
        breaker.failed(OSError("refused"), "failing open")
        breaker.answered()
    assert [e.open for e in seen.of(BreakerChanged)] == [True, False]
    assert seen.of(StoreFailed) == [StoreFailed("ratelimit")]
