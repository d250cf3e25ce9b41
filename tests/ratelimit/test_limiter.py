"""RateLimiter and AsyncRateLimiter: policies, rates, decisions, all-or-nothing."""

from __future__ import annotations

import asyncio
import pickle

import limits
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.ratelimit import (
    AsyncRateLimiter,
    Decision,
    MemoryStore,
    PolicyState,
    RateLimiter,
    SlidingWindow,
    TokenBucket,
    parse_rates,
)
from backendkit.ratelimit._algorithms import TokenBucketSpec


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


def test_decision_reports_the_tightest_policy_and_every_policy() -> None:
    limiter = RateLimiter([TokenBucket("10/second", burst=20), SlidingWindow("3/hour")])
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
    # Denied: the bucket was not charged for it.
    assert denied.policies[0].remaining == 17
    assert limiter.peek("ann").policies[0].remaining == 16  # a peek tells what a hit would leave


def test_keys_are_per_client_and_hash_tagged() -> None:
    limiter = RateLimiter(SlidingWindow("1/minute"), prefix="app:")
    assert limiter.hit("ann").allowed
    assert limiter.hit("bob").allowed
    assert not limiter.hit("ann").allowed
    assert limiter.keys("ann") == ["app:{ann}:sliding_window:1:60"]


def test_peek_refund_and_reset() -> None:
    limiter = RateLimiter(TokenBucket("2/minute"))
    assert limiter.peek("k").remaining == 1  # what a hit would leave
    limiter.hit("k", cost=2)
    assert not limiter.peek("k").allowed
    assert limiter.refund("k").remaining == 1
    assert limiter.hit("k").allowed
    limiter.reset("k")
    assert limiter.hit("k", cost=2).allowed


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


def test_async_limiter_under_200_tasks_admits_exactly_the_limit() -> None:
    limiter = AsyncRateLimiter(SlidingWindow("150/hour"), MemoryStore())

    async def main() -> int:
        results = await asyncio.gather(*(limiter.hit("hot") for _ in range(200)))
        return sum(d.allowed for d in results)

    assert asyncio.run(main()) == 150


def test_async_peek_refund_reset() -> None:
    limiter = AsyncRateLimiter(TokenBucket("1/minute"))

    async def main() -> list[bool]:
        first = (await limiter.hit("k")).allowed
        second = (await limiter.hit("k")).allowed
        await limiter.refund("k")
        third = (await limiter.peek("k")).allowed
        await limiter.reset("k")
        return [first, second, third, (await limiter.hit("k")).allowed]

    assert asyncio.run(main()) == [True, False, True, True]


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
