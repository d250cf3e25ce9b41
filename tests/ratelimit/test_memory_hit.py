"""A one-policy limiter's check in a MemoryStore: the store's own admitting arithmetic, held to the pure functions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.ratelimit import MemoryStore
from backendkit.ratelimit._core.algorithms import SlidingWindowSpec, Spec, State, TokenBucketSpec, check, ttl
from tests.ratelimit.vectors import VECTORS


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def answer(allowed: bool, remaining: int, reset_after: int, retry_after: int | None) -> tuple[object, ...]:
    return allowed, remaining, reset_after, retry_after


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_golden_vectors_of_hits(name: str) -> None:
    spec, rows = VECTORS[name]
    if any(op != "hit" for _, _, op, *_ in rows):  # peeks and refunds change what follows: the hits before them
        rows = rows[: next(i for i, row in enumerate(rows) if row[2] != "hit")]
    clock = Clock()
    hit = MemoryStore(clock=clock).check_for(spec, "{", "}", answer)
    for now, cost, _, *expected in rows:
        clock.now = now
        assert hit("k", cost) == tuple(expected)


SPECS: list[Spec] = [
    TokenBucketSpec(limit=3, window=1_000_000, burst=4),
    TokenBucketSpec(limit=7, window=3_000_000, burst=2),
    SlidingWindowSpec(limit=5, window=2_000_000),
    SlidingWindowSpec(limit=3, window=700_000),
    TokenBucketSpec(limit=1_000_000, window=60_000_000, burst=3),  # an interval that is not a whole number
    SlidingWindowSpec(limit=1_000_000, window=60_000_000),
]


@settings(max_examples=200)
@given(
    spec=st.sampled_from(SPECS),
    origin=st.sampled_from([0, 1_234_567_890_123]),  # a clock that has run for weeks: large numbers
    events=st.lists(st.tuples(st.integers(0, 2_500_000) | st.integers(0, 200), st.integers(1, 8)), max_size=60),
)
def test_every_hit_answers_and_stores_what_the_pure_function_does(
    spec: Spec, origin: int, events: list[tuple[int, int]]
) -> None:
    clock = Clock()
    clock.now = origin
    store = MemoryStore(clock=clock)
    hit = store.check_for(spec, "<", ">", answer)
    state: State | None = None
    for step_us, cost in events:
        clock.now += step_us
        step = check(spec, state, clock.now, cost)
        if step.allowed:
            state = step.state
        assert hit("k", cost) == (step.allowed, step.remaining, step.reset_after, step.retry_after)
        # What it keeps: the new state, until it stops mattering (when its ttl is over).
        kept = state if state is not None and ttl(spec, state, clock.now) > 0 else None
        assert store._get("<k>", clock.now) == kept
