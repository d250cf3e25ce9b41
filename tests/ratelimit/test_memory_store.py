"""MemoryStore: the pure functions under a lock, bounded, expiring, exact under threads."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.ratelimit import MemoryStore, RateLimiter, SlidingWindow, TokenBucket
from backendkit.ratelimit._core.algorithms import SlidingWindowSpec, State, TokenBucketSpec, evaluate
from tests.ratelimit.vectors import VECTORS


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_golden_vectors(name: str) -> None:
    spec, rows = VECTORS[name]
    clock = Clock()
    store = MemoryStore(clock=clock)
    for now, cost, op, allowed, remaining, reset_after, retry_after in rows:
        clock.now = now
        [step] = store.apply(["k"], [spec], cost, op)
        assert (step.allowed, step.remaining, step.reset_after, step.retry_after) == (
            allowed,
            remaining,
            reset_after,
            retry_after,
        )


SPECS = [TokenBucketSpec(limit=3, window=1_000_000, burst=4), SlidingWindowSpec(limit=5, window=2_000_000)]


@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(st.integers(0, 2_500_000), st.integers(1, 3), st.sampled_from(["hit", "hit", "peek", "refund"])),
        max_size=50,
    )
)
def test_the_store_agrees_with_the_pure_functions(events: list[tuple[int, int, str]]) -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    states: list[State | None] = [None, None]
    for step_us, cost, op in events:
        clock.now += step_us
        expected, new = evaluate(tuple(SPECS), states, clock.now, cost, op)
        if new is not None:
            states = new
        assert store.apply(["a", "b"], SPECS, cost, op) == expected


def test_the_store_is_bounded_and_keeps_the_key_in_use() -> None:
    clock = Clock()
    store = MemoryStore(max_keys=3, clock=clock)
    spec = SlidingWindowSpec(limit=100, window=60_000_000)
    assert store.apply(["hot"], [spec], 1, "hit")[0].remaining == 99
    for n in range(20):
        store.apply([f"new-{n}"], [spec], 1, "hit")
        assert len(store) <= 3
        # The key used on every check keeps its state while new keys push others out.
        assert store.apply(["hot"], [spec], 1, "hit")[0].remaining == 98 - n
    store.clear(["hot"])
    assert store.apply(["hot"], [spec], 1, "hit")[0].remaining == 99


def five_a_second(clock: Clock, *, policies: int = 1) -> RateLimiter:
    rates = [SlidingWindow("5/second"), TokenBucket("10/minute")][:policies]
    return RateLimiter(rates, MemoryStore(clock=clock))


@pytest.mark.parametrize("policies", [1, 2], ids=["one policy (the fast path)", "two policies"])
def test_expired_keys_are_reclaimed_by_the_checks_that_follow(policies: int) -> None:
    # 100,000 clients once, then quiet: the store kept all of them (+90 MB over HTTP for
    # 200,000), though each entry expired within two seconds.
    clock = Clock()
    limiter = five_a_second(clock, policies=policies)
    store = limiter.store
    assert isinstance(store, MemoryStore)
    for n in range(100_000):
        assert limiter.hit(f"client-{n}").allowed
    assert len(store) == 100_000 * policies
    clock.now += 3_000_000 if policies == 1 else 600_000_000  # every entry has expired
    for _ in range(4_000):  # then one client, a request every 10 ms: 64 entries looked at each time
        clock.now += 10_000
        limiter.hit("regular")
    assert len(store) <= policies  # the regular client's entries, nothing else


def test_a_stream_of_new_keys_keeps_the_store_near_the_live_ones() -> None:
    clock = Clock()
    limiter = five_a_second(clock)
    store = limiter.store
    assert isinstance(store, MemoryStore)
    expiries: list[int] = []  # when each key's state stops mattering, from what the check said
    largest = 0
    for ms in range(5_000):  # 100 new clients a millisecond for five seconds
        clock.now = ms * 1_000
        for n in range(100):
            decision = limiter.hit(f"c-{ms}-{n}")
            expiries.append(clock.now + round(decision.reset_after * 1_000_000))
        if ms % 100 == 99:
            live = sum(1 for expiry in expiries if expiry > clock.now)
            assert len(store) <= 2 * live + 64, (ms, len(store), live)
            largest = max(largest, len(store))
    assert largest < 500_000 / 2  # it never kept everything it was given


def test_threads_admit_exactly_the_limit() -> None:
    clock = Clock()  # time stands still: one window, no refill
    store = MemoryStore(clock=clock)
    spec = SlidingWindowSpec(limit=500, window=60_000_000)
    admitted = []
    lock = threading.Lock()

    def worker() -> None:
        mine = sum(store.apply(["hot"], [spec], 1, "hit")[0].allowed for _ in range(200))
        with lock:
            admitted.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 500


def test_max_keys_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_keys"):
        MemoryStore(max_keys=0)
