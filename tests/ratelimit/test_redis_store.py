"""The Redis stores against a real redis-server: the Lua twin, one round trip, faults."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
import redis.asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backendkit.ratelimit import (
    AsyncRateLimiter,
    AsyncRedisStore,
    MemoryStore,
    RateLimiter,
    RedisStore,
    SlidingWindow,
    TokenBucket,
)
from backendkit.ratelimit._core.algorithms import SlidingWindowSpec, State, TokenBucketSpec, evaluate
from backendkit.stores.redis import _turns
from tests.ratelimit.vectors import VECTORS
from tests.support.redis import RedisServer, find_redis_server, start_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_server.url)
    connection.flushdb()
    yield connection
    connection.close()


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_golden_vectors_in_lua(client: redis.Redis, name: str) -> None:
    spec, rows = VECTORS[name]
    store = RedisStore(client)
    for now, cost, op, allowed, remaining, reset_after, retry_after in rows:
        [step] = store._apply(["k"], [spec], cost, op, now)
        assert (step.allowed, step.remaining, step.reset_after, step.retry_after) == (
            allowed,
            remaining,
            reset_after,
            retry_after,
        ), (now, cost, op)


SPECS = [TokenBucketSpec(limit=3, window=1_000_000, burst=4), SlidingWindowSpec(limit=5, window=2_000_000)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(0, 2_500_000), st.integers(1, 3), st.sampled_from(["hit", "hit", "peek", "refund"])),
        max_size=40,
    )
)
def test_lua_agrees_with_the_pure_functions(client: redis.Redis, events: list[tuple[int, int, str]]) -> None:
    client.flushdb()
    store = RedisStore(client)
    states: list[State | None] = [None, None]
    now = 1_700_000_000_000_000  # a realistic epoch in microseconds: large numbers, same floats
    for step_us, cost, op in events:
        now += step_us
        expected, new = evaluate(tuple(SPECS), states, now, cost, op)
        if new is not None:
            states = new
        got = store._apply(["{c}:a", "{c}:b"], SPECS, cost, op, now)
        assert [(s.allowed, s.remaining, s.reset_after, s.retry_after) for s in got] == [
            (s.allowed, s.remaining, s.reset_after, s.retry_after) for s in expected
        ]


def _old_text(state: State) -> str:
    """A state as earlier versions of the script wrote it: "%.17g" numbers, space-separated."""
    return " ".join(format(x, ".17g") for x in state)


OLD_STATES: list[tuple[State, int, int, str]] = [
    ((1_700_000_000_333_333.2,), 1_700_000_000_000_000, 1, "hit"),  # a fractional tat, in the future
    ((1_700_000_000_333_333.2,), 1_700_000_000_000_000, 2, "refund"),
    ((1_699_999_999_000_000.0,), 1_700_000_000_000_000, 1, "peek"),  # in the past: a full bucket
    ((1_700_000_000_000_000.0, 3.0, 2.0), 1_700_000_001_000_000, 1, "hit"),  # this window's
    ((1_699_999_998_000_000.0, 4.0, 0.0), 1_700_000_000_500_000, 1, "hit"),  # the previous window's
    ((1_700_000_000_000_000.0, 3.0, 2.0), 1_700_000_001_000_000, 1, "refund"),
]


@pytest.mark.parametrize(("state", "now", "cost", "op"), OLD_STATES)
def test_state_in_the_old_text_format_is_read(client: redis.Redis, state: State, now: int, cost: int, op: str) -> None:
    # A deploy's new workers meet the states its old ones wrote: the same answers as from the same numbers.
    spec = SPECS[0] if len(state) == 1 else SPECS[1]
    client.set("{t}:k", _old_text(state), px=60_000)
    [got] = RedisStore(client)._apply(["{t}:k"], [spec], cost, op, now)
    [expected], new = evaluate((spec,), [state], now, cost, op)
    assert (got.allowed, got.remaining, got.reset_after, got.retry_after) == expected[:4]
    if new is not None and new[0] is not None:  # what it wrote back reads as the state the pure functions keep
        [step] = RedisStore(client)._apply(["{t}:k"], [spec], 1, "peek", now)
        assert step[:4] == evaluate((spec,), new, now, 1, "peek")[0][0][:4]


def test_a_sliding_window_key_expires_when_its_state_stops_mattering(client: redis.Redis) -> None:
    spec, store, s = SlidingWindowSpec(limit=5, window=10_000_000), RedisStore(client), 1_000_000
    store._apply(["{w}:k"], [spec], 1, "hit", 1_700_000_000 * s)  # a window's start: 20 s to go
    assert 19_000 < client.pttl("{w}:k") <= 20_000
    store._apply(["{w}:k"], [spec], 1, "hit", 1_700_000_005 * s)  # same window: the same end
    assert 19_000 < client.pttl("{w}:k") <= 20_000
    store._apply(["{w}:k"], [spec], 1, "hit", 1_700_000_015 * s)  # the next one: 15 s to go
    assert 14_000 < client.pttl("{w}:k") <= 15_000
    # The last window's 2 weigh half, this one's 1 in full, and the peek's own 1: 2 left of 5.
    assert store._apply(["{w}:k"], [spec], 1, "peek", 1_700_000_015 * s)[0].remaining == 2


def test_redis_time_ttls_and_prefix(client: redis.Redis) -> None:
    limiter = RateLimiter([TokenBucket("5/second"), SlidingWindow("100/hour")], RedisStore(client), prefix="api:")
    assert limiter.hit("ann").allowed
    keys = sorted(k.decode() for k in client.keys("*"))
    assert keys == ["api:{ann}:sliding_window:100:3600", "api:{ann}:token_bucket:5:1"]
    assert 0 < client.pttl("api:{ann}:token_bucket:5:1") <= 200
    assert 3_600_000 < client.pttl("api:{ann}:sliding_window:100:3600") <= 7_200_000


def test_one_round_trip_per_check_whatever_the_policies(client: redis.Redis) -> None:
    limiter = RateLimiter(
        [TokenBucket("50/second"), SlidingWindow("1000/hour"), SlidingWindow("5000/day")], RedisStore(client)
    )
    limiter.hit("warm")  # loads the script
    client.config_resetstat()
    for _ in range(25):
        limiter.hit("ann")
    stats = client.info("commandstats")
    called = {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}
    # commandstats also counts what the script runs inside Redis: one TIME per
    # check (the only clock), one MGET for every policy's state and one SET per
    # policy; the client itself sent nothing but the 25 EVALSHAs.
    assert called.pop("evalsha") == 25
    assert called.pop("time") == 25
    assert called.pop("mget") == 25
    assert called.pop("set") == 75
    assert set(called) <= {"info", "config|resetstat"}


def test_script_flush_mid_run_is_transparent(client: redis.Redis) -> None:
    limiter = RateLimiter(SlidingWindow("3/hour"), RedisStore(client))
    assert limiter.hit("ann").allowed
    client.script_flush()
    assert limiter.hit("ann").allowed
    assert limiter.hit("ann").remaining == 0
    assert not limiter.hit("ann").allowed


def _hammer(url: str, count: int) -> int:
    limiter = RateLimiter(SlidingWindow("500/day"), RedisStore(url))
    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(lambda _: limiter.hit("hot").allowed, range(count)))


def test_four_processes_of_eight_threads_admit_exactly_the_limit(redis_server: RedisServer, client: Any) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        admitted = sum(pool.starmap(_hammer, [(redis_server.url, 300)] * 4))
    assert admitted == 500


def test_token_bucket_admits_burst_plus_refill(redis_server: RedisServer, client: Any) -> None:
    limiter = RateLimiter(TokenBucket("20/second", burst=50), RedisStore(redis_server.url))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        admitted = sum(pool.map(lambda _: limiter.hit("tb").allowed, range(400)))
    elapsed = time.monotonic() - started
    assert 50 <= admitted <= 50 + 20 * elapsed + 1


def test_async_golden_vectors(redis_server: RedisServer, client: Any) -> None:
    spec, rows = VECTORS["sliding window 3 per 10 s"]

    async def main() -> list[tuple[bool, int, int, int | None]]:
        store = AsyncRedisStore(redis_server.url)
        out = []
        for now, cost, op, *_ in rows:
            [step] = await store._aapply(["async-k"], [spec], cost, op, now)
            out.append((step.allowed, step.remaining, step.reset_after, step.retry_after))
        await store.client.aclose()
        return out

    assert asyncio.run(main()) == [tuple(row[3:]) for row in rows]


@pytest.fixture
def own_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """A redis-server this test may stop and start again on the same port."""
    binary = find_redis_server()
    assert binary is not None
    server = start_redis(binary)
    yield server
    server.stop()


@pytest.mark.parametrize("policy", ["open", "closed", "memory"])
def test_redis_down_and_back(own_redis: RedisServer, policy: str, caplog: pytest.LogCaptureFixture) -> None:
    # "memory": a MemoryStore counts meanwhile (fallback=, once on_store_error="memory").
    options: dict[str, Any] = {"fallback": MemoryStore()} if policy == "memory" else {"on_store_error": policy}
    limiter = RateLimiter(SlidingWindow("2/hour"), RedisStore(own_redis.url), **options)
    assert limiter.hit("ann").allowed
    own_redis.stop()
    during = [limiter.hit("ann") for _ in range(4)]  # never an exception
    if policy == "open":
        assert all(d.allowed for d in during)
    elif policy == "closed":
        assert not any(d.allowed for d in during)
        assert during[0].retry_after == 1.0
    else:  # counted locally meanwhile: 2/hour
        assert [d.allowed for d in during] == [True, True, False, False]
    warnings = [r for r in caplog.records if r.name == "backendkit.ratelimit"]
    assert len(warnings) == 1  # one per state change, not one per request
    restarted = start_redis(find_redis_server() or "", port=own_redis.port)
    try:
        deadline = time.monotonic() + 1.5
        while True:  # Redis is used again within a second (the breaker's retry interval)
            decision = limiter.hit("ann")
            if len([r for r in caplog.records if r.name == "backendkit.ratelimit"]) == 2:
                break
            assert time.monotonic() < deadline, "the store was not used again within a second"
            time.sleep(0.05)
        # The restarted Redis has no state: ann starts over (one hit counted just now).
        assert decision.allowed
        assert limiter.hit("ann").remaining == 0
    finally:
        restarted.stop()


def test_a_url_store_serves_every_event_loop(redis_server: RedisServer) -> None:
    # Django runs each async view served over WSGI on a loop of its own; asyncio
    # connections belong to one loop, so the store keeps a client per loop.
    store = AsyncRedisStore(redis_server.url)
    limiter = AsyncRateLimiter(SlidingWindow("3/minute"), store, on_store_error="closed")

    async def one_request() -> bool:
        try:
            return (await limiter.hit("loop-hopper")).allowed
        finally:
            await store.aclose()

    assert [asyncio.run(one_request()) for _ in range(4)] == [True, True, True, False]


def test_a_url_store_keeps_its_checks_in_flight_and_its_connections_bounded(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_turns, "MAX_IN_FLIGHT", 3)

    async def main() -> tuple[int, int]:
        store = AsyncRedisStore(f"{redis_server.url}?client_name=bk-turns")
        limiter = AsyncRateLimiter(SlidingWindow("150/day"), store, on_store_error="closed")
        try:
            results = await asyncio.gather(*(limiter.hit("turns") for _ in range(200)))
            opened = sum(c.get("name") == "bk-turns" for c in await store.client.client_list())
        finally:
            await store.aclose()
        return sum(d.allowed for d in results), opened

    admitted, opened = asyncio.run(main())
    assert admitted == 150  # nobody failed open for want of a connection: they queued
    assert opened <= 3


def test_a_blocked_loop_delays_checks_and_admits_exactly_the_limit(redis_server: RedisServer) -> None:
    # A loop blocked for longer than the timeout (a slow handler, a long GC pause) makes the
    # checks in flight time out with Redis well. Failing every waiting check over with them
    # let all 500 of a burst through a limit of 20; their timeouts fired late, so they try again.
    async def main() -> int:
        store = AsyncRedisStore(redis_server.url)
        limiter = AsyncRateLimiter(SlidingWindow("20/minute"), store)  # fails open

        async def block() -> None:
            await asyncio.sleep(0.002)
            time.sleep(0.3)

        try:
            results = await asyncio.gather(block(), *(limiter.hit("blocked-loop") for _ in range(500)))
        finally:
            await store.aclose()
        return sum(d.allowed for d in results[1:])

    assert asyncio.run(main()) == 20


def test_the_checks_in_flight_never_outnumber_the_pools_connections(redis_server: RedisServer) -> None:
    async def main() -> int:
        client = redis.asyncio.Redis.from_url(redis_server.url, max_connections=3)
        store = AsyncRedisStore(client)  # its own connections, as many as this pool allows
        limiter = AsyncRateLimiter(SlidingWindow("150/day"), store, on_store_error="closed")
        try:
            results = await asyncio.gather(*(limiter.hit("small-pool") for _ in range(200)))
        finally:
            await store.aclose()
            await client.aclose()
        return sum(d.allowed for d in results)

    assert asyncio.run(main()) == 150  # no "Too many connections": nobody failed for want of one
