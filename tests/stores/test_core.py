"""The pure core of the store kernel: the breaker's state machine, the outage policy's checks, built on the spot."""

from __future__ import annotations

import logging
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.auth import HMACKey, JWTVerifier, MemoryRevocations
from backendkit.errors import ConfigurationError
from backendkit.idempotency import Idempotency, MemoryStore
from backendkit.ratelimit import AsyncRateLimiter, Limit, RateLimiter, SlidingWindow, StoreError
from backendkit.stores import Breaker, StoreUnavailable
from backendkit.stores._core import BreakerState

KEY = HMACKey("tests-only-kernel-secret-of-32-bytes!!!!")


def test_the_old_error_names_are_the_one_class() -> None:
    import backendkit.idempotency

    assert StoreError is StoreUnavailable
    assert backendkit.idempotency.StoreUnavailable is StoreUnavailable


@given(
    interval=st.floats(min_value=0.001, max_value=10),
    gaps=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=200),
)
def test_a_down_store_is_probed_at_most_once_per_interval(interval: float, gaps: list[float]) -> None:
    state = BreakerState(interval)
    now = 0.0
    assert state.failed(now)  # news: it was up
    probes: list[float] = []
    for gap in gaps:
        now += gap
        if state.usable(now):
            probes.append(now)
            assert not state.failed(now)  # still down: no news
    assert all(later >= earlier + interval for earlier, later in pairwise(probes))
    assert all(p >= interval for p in probes)  # none before the first interval is over


def test_one_answer_closes_the_breaker_and_is_news_once() -> None:
    state = BreakerState(1.0)
    assert state.answered() is False  # up already: nothing to log
    state.failed(0.0)
    assert state.usable(1.0)
    assert (state.answered(), state.answered()) == (True, False)
    assert state.usable(1.1)
    assert not state.down


def test_the_shell_logs_one_line_per_state_change(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    breaker = Breaker(1.0, logger="tests.breaker", what="the test store", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="tests.breaker"):
        for _ in range(5):
            breaker.failed(StoreUnavailable("redis: refused"), "failing open")
        now[0] = 2.0
        assert breaker.usable()
        for _ in range(3):
            breaker.answered()
        breaker.failed(StoreUnavailable("redis: refused"), "failing open")
    assert [r.getMessage() for r in caplog.records] == [
        "the test store is unavailable (redis: refused); failing open",
        "the test store is available again",
        "the test store is unavailable (redis: refused); failing open",
    ]


POLICY_OWNERS: dict[str, Any] = {
    "RateLimiter": lambda **o: RateLimiter(SlidingWindow("1/second"), **o),
    "AsyncRateLimiter": lambda **o: AsyncRateLimiter(SlidingWindow("1/second"), **o),
    "Limit": lambda **o: Limit("1/second", **o),
    "Idempotency": lambda **o: Idempotency(MemoryStore(), **o),
    "JWTVerifier": lambda **o: JWTVerifier([KEY], revocations=MemoryRevocations(), **o),
}
BAD: list[dict[str, Any]] = [
    {"on_store_error": "maybe"},
    {"on_store_error": "OPEN"},
    {"on_store_error": True},
    {"retry_interval": -1},
    {"retry_interval": float("inf")},
    {"retry_interval": float("nan")},
    {"retry_interval": "1"},
    {"retry_interval": True},
]


@pytest.mark.parametrize("options", BAD, ids=[repr(o) for o in BAD])
@pytest.mark.parametrize("owner", list(POLICY_OWNERS))
def test_a_bad_policy_is_a_configuration_error_when_built(owner: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=r"on_store_error|retry_interval"):
        POLICY_OWNERS[owner](**options)


@pytest.mark.parametrize("owner", list(POLICY_OWNERS))
def test_each_piece_has_its_default(owner: str) -> None:
    built = POLICY_OWNERS[owner]()
    policy = built._sync.on_store_error if owner == "Limit" else built.on_store_error
    # Rate limits protect, so they fail open; idempotency keys and revocations promise, so they fail closed.
    assert policy == ("open" if "Limit" in owner else "closed")


def test_a_bad_fallback_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="fallback"):
        RateLimiter(SlidingWindow("1/second"), fallback=object())  # type: ignore[arg-type]
