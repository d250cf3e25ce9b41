"""MemoryStore: the pure functions under a lock, bounded, expiring, exact under threads."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.ratelimit import MemoryStore
from backendkit.ratelimit._algorithms import SlidingWindowSpec, State, TokenBucketSpec, evaluate
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


def test_idle_keys_expire_and_the_store_is_bounded() -> None:
    clock = Clock()
    store = MemoryStore(max_keys=3, clock=clock)
    spec = TokenBucketSpec(limit=1, window=1_000_000, burst=1)
    for key in "abcd":
        store.apply([key], [spec], 1, "hit")
    assert len(store) == 3  # "a", the least recently used, was dropped
    assert store.apply(["a"], [spec], 1, "hit")[0].allowed
    clock.now = 5_000_000
    store.apply(["e"], [spec], 1, "peek")
    assert store.apply(["b"], [spec], 1, "hit")[0].allowed  # its state had expired
    store.clear(["b"])
    assert store.apply(["b"], [spec], 1, "hit")[0].allowed


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
