"""RateLimiter and AsyncRateLimiter: rates, policies, arguments (the cases of every store: test_stores.py)."""

from __future__ import annotations

import pickle

import limits
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.ratelimit import (
    Decision,
    MemoryStore,
    PolicyState,
    RateLimiter,
    SlidingWindow,
    TokenBucket,
    parse_rates,
)
from backendkit.ratelimit._core.algorithms import TokenBucketSpec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/second", [(10, 1)]),
        ("10 per second;1000/hour", [(10, 1), (1000, 3600)]),
        ("5 per 2 minutes", [(5, 120)]),
        ("100/day", [(100, 86400)]),
        (limits.RateLimitItemPerMinute(7), [(7, 60)]),
        (["1/second", limits.RateLimitItemPerHour(9)], [(1, 1), (9, 3600)]),
    ],
)
def test_rates_in_limits_notation(text: object, expected: list[tuple[int, int]]) -> None:
    assert [(r.amount, r.window) for r in parse_rates(text)] == expected


@pytest.mark.parametrize("text", ["ten per second", "10/fortnight", "", "0/second"])
def test_bad_rates(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (the messages come from limits or from us)
        parse_rates(text)


def test_policies_describe_themselves() -> None:
    bucket = TokenBucket("10/second;100/minute", burst=20)
    assert bucket.names() == ["10-per-1s", "100-per-60s"]
    assert TokenBucket("1/second", name="api").names() == ["api"]
    assert repr(SlidingWindow("5/minute")) == "SlidingWindow('5 per 1 minute')"
    with pytest.raises(ValueError, match="burst"):
        TokenBucket("1/second", burst=0)


@pytest.mark.parametrize("cost", [0, -1, 1.5, True, "1"])
def test_cost_must_be_a_positive_whole_number(cost: object) -> None:
    with pytest.raises(ValueError, match="cost"):
        RateLimiter(TokenBucket("2/minute")).hit("k", cost=cost)  # type: ignore[arg-type]


def test_policies_and_failure_policy_are_checked() -> None:
    with pytest.raises(TypeError):
        RateLimiter([])
    with pytest.raises(TypeError):
        RateLimiter("10/second")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_store_error"):
        RateLimiter(TokenBucket("1/second"), on_store_error="maybe")  # type: ignore[arg-type]


class _Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


@settings(max_examples=100)
@given(
    events=st.lists(st.tuples(st.integers(0, 1_500_000), st.integers(1, 3)), max_size=40),
    bucket=st.booleans(),
)
def test_the_one_policy_memory_path_decides_as_the_general_one(events: list[tuple[int, int]], bucket: bool) -> None:
    # One policy in a MemoryStore takes a path of its own (its own hit, its TTL from the
    # step, the decision filled in field by field); it must answer what the store's general
    # path and ``Decision.from_step`` answer, to the last field and in every representation.
    policy = TokenBucket("3/second", burst=4) if bucket else SlidingWindow("5 per 2 seconds")
    clock = _Clock()
    limiter = RateLimiter(policy, MemoryStore(clock=clock))
    reference = MemoryStore(clock=clock)
    [spec] = policy.specs()
    [name] = policy.names()
    quota = spec.burst if isinstance(spec, TokenBucketSpec) else spec.limit
    for step_us, cost in events:
        clock.now += step_us
        got = limiter.hit("k", cost)
        [step] = reference.apply(limiter.keys("k"), [spec], cost, "hit")
        expected = Decision.from_step(name, quota, policy.rates[0].window, step)
        assert repr(got) == repr(expected)
        assert got == expected
        assert pickle.loads(pickle.dumps(got)) == expected
    assert len(limiter.store) == len(reference)  # type: ignore[arg-type]


def test_a_one_policy_decision_builds_its_policies_when_read_and_compares_with_any() -> None:
    decision = RateLimiter(SlidingWindow("5/minute", name="m")).hit("ann")
    assert decision.policies == (PolicyState("m", 5, 60, 4, decision.reset_after, None),)
    assert decision.policies is decision.policies  # built once
    assert decision == Decision(True, 5, 4, decision.reset_after, None, decision.policies)
    assert decision.replace(remaining=0).policies[0].remaining == 4
    assert decision.replace(remaining=0).remaining == 0
    assert pickle.loads(pickle.dumps(decision)) == decision


def test_a_subclass_keeps_its_own_hit() -> None:
    class Counting(RateLimiter):
        calls = 0

        def hit(self, key: str, cost: int = 1) -> Decision:
            Counting.calls += 1
            return super().hit(key, cost)

    limiter = Counting(SlidingWindow("5/minute"))
    assert limiter.hit("ann").remaining == 4
    assert Counting.calls == 1
