"""The pure step functions: golden vectors and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.ratelimit._core.algorithms import (
    SlidingWindowSpec,
    State,
    TokenBucketSpec,
    check,
    evaluate,
    sliding_window,
    step_function,
    token_bucket,
    ttl,
)
from tests.ratelimit.vectors import VECTORS, Row


def replay(spec: object, rows: list[Row]) -> list[tuple[bool, int, int, int | None]]:
    state: State | None = None
    out = []
    for now, cost, op, *_ in rows:
        steps, new = evaluate((spec,), [state], now, cost, op)  # type: ignore[arg-type]
        if new is not None:
            state = new[0]
        step = steps[0]
        out.append((step.allowed, step.remaining, step.reset_after, step.retry_after))
    return out


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_golden_vectors(name: str) -> None:
    spec, rows = VECTORS[name]
    assert replay(spec, rows) == [tuple(row[3:]) for row in rows]


EVENTS = st.lists(st.tuples(st.integers(0, 3_000_000), st.integers(1, 4)), min_size=1, max_size=60)


@settings(max_examples=200)
@given(events=EVENTS, limit=st.integers(1, 20), burst=st.integers(1, 30))
def test_token_bucket_never_admits_more_than_burst_plus_refill(
    events: list[tuple[int, int]], limit: int, burst: int
) -> None:
    spec = TokenBucketSpec(limit=limit, window=1_000_000, burst=burst)
    state: State | None = None
    now, admitted = 0, 0
    for step_us, cost in events:
        now += step_us
        result = check(spec, state, now, cost)
        if result.allowed:
            state = result.state
            admitted += cost
            assert result.retry_after is None
        else:
            assert result.retry_after is not None
            assert result.retry_after > 0
        assert admitted <= burst + now * limit / 1_000_000 + 1e-6


@settings(max_examples=200)
@given(events=EVENTS, limit=st.integers(1, 20))
def test_sliding_window_never_exceeds_the_limit_in_a_fixed_window(events: list[tuple[int, int]], limit: int) -> None:
    window = 1_000_000
    spec = SlidingWindowSpec(limit=limit, window=window)
    state: State | None = None
    now = 0
    per_window: dict[int, int] = {}
    for step_us, cost in events:
        now += step_us
        result = check(spec, state, now, cost)
        if result.allowed:
            state = result.state
            per_window[now // window] = per_window.get(now // window, 0) + cost
    assert all(count <= limit for count in per_window.values())


@settings(max_examples=200)
@given(events=EVENTS)
def test_a_denied_request_is_admitted_once_its_retry_after_has_passed(events: list[tuple[int, int]]) -> None:
    for spec in (TokenBucketSpec(limit=5, window=1_000_000, burst=5), SlidingWindowSpec(limit=5, window=1_000_000)):
        state: State | None = None
        now = 0
        for step_us, cost in events:
            now += step_us
            result = check(spec, state, now, cost)
            if result.allowed:
                state = result.state
            else:
                assert result.retry_after is not None
                later = check(spec, state, now + result.retry_after, cost)
                assert later.allowed, (spec, state, now, cost, result)


@given(events=EVENTS)
def test_peek_changes_nothing(events: list[tuple[int, int]]) -> None:
    spec = SlidingWindowSpec(limit=4, window=1_000_000)
    state: State | None = None
    now = 0
    for step_us, cost in events:
        now += step_us
        _, new = evaluate((spec,), [state], now, cost, "peek")
        assert new is None
        steps, new = evaluate((spec,), [state], now, cost, "hit")
        if new is not None:
            state = new[0]
        assert steps[0].allowed is (new is not None)


def test_all_or_nothing_across_policies() -> None:
    tight = SlidingWindowSpec(limit=1, window=1_000_000)
    loose = TokenBucketSpec(limit=100, window=1_000_000, burst=100)
    steps, new = evaluate((loose, tight), [None, None], 0, 1, "hit")
    assert new is not None
    state = new
    steps, new = evaluate((loose, tight), state, 0, 1, "hit")
    assert new is None  # the tight one refuses, so the loose one is not charged either
    assert [s.allowed for s in steps] == [True, False]
    assert steps[0].remaining == 99  # as it stays: reported without this request's cost


@settings(max_examples=200)
@given(events=EVENTS, limit=st.integers(1, 20), burst=st.integers(1, 30))
def test_an_admitted_hit_resets_when_its_state_expires(events: list[tuple[int, int]], limit: int, burst: int) -> None:
    # What lets the memory store take an admitted hit's TTL from its reset_after (step_function's promise).
    for spec in (TokenBucketSpec(limit=limit, window=1_000_000, burst=burst), SlidingWindowSpec(limit, 1_000_000)):
        assert step_function(spec) is (token_bucket if isinstance(spec, TokenBucketSpec) else sliding_window)
        state: State | None = None
        now = 0
        for step_us, cost in events:
            now += step_us
            result = check(spec, state, now, cost)
            if result.allowed:
                assert result.reset_after == ttl(spec, result.state, now) > 0
                state = result.state
