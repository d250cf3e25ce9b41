"""The two algorithms as pure step functions: state and time in, outcome and new state out.

Time is integer microseconds; state is a short tuple of numbers. The memory
store runs these functions under a lock, except on a one-policy hit it admits,
whose arithmetic it repeats inline (a function call and its Step cost a quarter
of a memory check); the Redis store's Lua script is their line-by-line twin. All
use the same float operations in the same order, so one table of golden vectors
and a property test check every copy.

Token bucket (GCRA): one number per key, the theoretical arrival time (TAT).
With the emission interval ``T = window / limit`` and a burst of ``B``, a
request of cost ``c`` is allowed when ``max(TAT, now) + c*T - now <= B*T``.

Sliding-window counter: three numbers per key (the current fixed window's
start, its count, the previous window's count). The previous count is weighted
by how much of the previous window still overlaps the sliding one. The estimate
is exact when traffic is spread evenly; it never lets more than ``limit``
through within one fixed window, and at worst ``2 * limit`` within a sliding
window when the previous window's traffic was all at its very end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, cast

State = tuple[float, ...]
EPSILON = 1e-9  # float slack for "exactly at the limit"


class Step(NamedTuple):
    """The outcome of one policy for one check.

    Attributes:
        allowed: Whether this policy admits the request.
        remaining: Requests of cost 1 still admitted right after this check.
        reset_after: Microseconds until the policy is back at its full limit.
        retry_after: Microseconds until the same request would be admitted
            (``None`` when allowed).
        state: The state to store if the whole check is admitted.
    """

    allowed: bool
    remaining: int
    reset_after: int
    retry_after: int | None
    state: State


@dataclass(frozen=True)
class TokenBucketSpec:
    """A token bucket: ``limit`` per ``window`` microseconds, bursts of up to ``burst``."""

    limit: int
    window: int
    burst: int
    interval: float = field(init=False, repr=False, compare=False)  # the emission interval, window / limit

    def __post_init__(self) -> None:
        object.__setattr__(self, "interval", self.window / self.limit)  # once, not on every check


@dataclass(frozen=True)
class SlidingWindowSpec:
    """A sliding-window counter: ``limit`` per ``window`` microseconds."""

    limit: int
    window: int


Spec = TokenBucketSpec | SlidingWindowSpec
StepFunction = Callable[[Spec, "State | None", int, int], Step]

# ``Step(...)`` runs the NamedTuple's Python-level ``__new__``; on their admitting paths (the hot
# ones) the step functions call the C one directly: about a tenth of a memory check saved.
_new = tuple.__new__


def token_bucket(spec: TokenBucketSpec, state: State | None, now: int, cost: int) -> Step:
    """One GCRA check. ``cost=0`` peeks; the state is ``(tat,)``."""
    interval = spec.interval
    tolerance = interval * spec.burst
    tat = now if state is None or state[0] < now else state[0]
    new_tat = tat + cost * interval
    allow_at = new_tat - tolerance
    if allow_at > now + EPSILON:
        wait = math.ceil(allow_at - now) if cost <= spec.burst else spec.window
        remaining = max(0, math.floor((now + tolerance - tat) / interval + EPSILON))
        return _new(Step, (False, remaining, math.ceil(tat - now), wait, (tat,)))
    remaining = max(0, math.floor((now + tolerance - new_tat) / interval + EPSILON))
    return _new(Step, (True, remaining, math.ceil(new_tat - now), None, (new_tat,)))


def token_bucket_refund(spec: TokenBucketSpec, state: State | None, now: int, cost: int) -> State | None:
    """Give back ``cost``: the TAT moves back, never before ``now``."""
    if state is None:
        return None
    tat = state[0] - cost * spec.interval
    return (tat,) if tat > now else None


def sliding_window(spec: SlidingWindowSpec, state: State | None, now: int, cost: int) -> Step:
    """One sliding-window check. ``cost=0`` peeks; the state is ``(start, current, previous)``."""
    window, limit = spec.window, spec.limit
    elapsed = now % window
    start = now - elapsed
    current, previous = 0.0, 0.0
    if state is not None:
        if state[0] == start:
            current, previous = state[1], state[2]
        elif state[0] == start - window:
            previous = state[1]
    used = previous * (window - elapsed) / window + current
    left = limit - used - cost + EPSILON
    if left >= 0:
        new_current = current + cost
        # A positive count stops weighing at the end of the next window (the common case, inlined).
        reset = 2 * window - elapsed if new_current > 0 else _sliding_reset(start, window, now, 0, previous)
        return _new(Step, (True, int(left), reset, None, (start, new_current, previous)))
    remaining = max(0, math.floor(limit - used + EPSILON))
    wait = _sliding_wait(spec, start, now, current, previous, cost)
    return Step(
        False, remaining, _sliding_reset(start, window, now, current, previous), wait, (start, current, previous)
    )


def _sliding_reset(start: int, window: int, now: int, current: float, previous: float) -> int:
    if current > 0:
        return start + 2 * window - now  # the current count stops weighing at the end of the next window
    if previous > 0:
        return start + window - now
    return 0


def _sliding_wait(spec: SlidingWindowSpec, start: int, now: int, current: float, previous: float, cost: int) -> int:
    window, limit = spec.window, spec.limit
    if cost > limit:
        return window  # never admitted; answer with a whole window rather than forever
    # Still in this window: the previous count weighs less as time passes.
    room = limit - current - cost
    if previous > 0 and room >= 0:
        at = window - room * window / previous  # elapsed time at which it fits
        if at < window:
            return max(1, math.ceil(start + at - now))
    # In the next window the current count becomes the previous one.
    at = window - (limit - cost) * window / current if current > 0 else 0.0
    return max(1, math.ceil(start + window + max(0.0, at) - now))


def sliding_window_refund(spec: SlidingWindowSpec, state: State | None, now: int, cost: int) -> State | None:
    """Give back ``cost`` from the current window's count (never below zero)."""
    if state is None:
        return None
    start = now - now % spec.window
    if state[0] != start:
        return state
    return (state[0], max(0.0, state[1] - cost), state[2])


def check(spec: Spec, state: State | None, now: int, cost: int) -> Step:
    """Dispatch one check to the policy's algorithm."""
    if isinstance(spec, TokenBucketSpec):
        return token_bucket(spec, state, now, cost)
    return sliding_window(spec, state, now, cost)


def step_function(spec: Spec) -> StepFunction:
    """The policy's algorithm, for a caller that checks the same spec again and again (no dispatch per check).

    An admitted check of a positive cost resets exactly when its new state stops
    mattering: its ``reset_after`` is ``ttl(spec, step.state, now)``, so such a
    caller need not compute the TTL apart.
    """
    return cast(StepFunction, token_bucket if isinstance(spec, TokenBucketSpec) else sliding_window)


def refund(spec: Spec, state: State | None, now: int, cost: int) -> State | None:
    """Dispatch one refund to the policy's algorithm."""
    if isinstance(spec, TokenBucketSpec):
        return token_bucket_refund(spec, state, now, cost)
    return sliding_window_refund(spec, state, now, cost)


def ttl(spec: Spec, state: State, now: int) -> int:
    """Microseconds after which the state no longer matters (what a store may expire)."""
    if isinstance(spec, TokenBucketSpec):
        return max(0, math.ceil(state[0] - now))
    return max(0, int(state[0]) + 2 * spec.window - now)


def evaluate(
    specs: tuple[Spec, ...], states: list[State | None], now: int, cost: int, op: str
) -> tuple[list[Step], list[State | None] | None]:
    """Every policy of one check, all-or-nothing: what each says, and the states to store.

    ``op`` is ``"hit"`` (consume ``cost`` if every policy admits it), ``"peek"``
    (what a hit of ``cost`` would be told, consuming nothing) or ``"refund"``
    (give ``cost`` back, then report the state). The new
    states are ``None`` when nothing is to be written.
    """
    if op == "refund":
        refunded = [refund(spec, state, now, cost) for spec, state in zip(specs, states, strict=True)]
        return [check(spec, state, now, 0) for spec, state in zip(specs, refunded, strict=True)], refunded
    steps = [check(spec, state, now, cost) for spec, state in zip(specs, states, strict=True)]
    if op == "peek":
        return steps, None
    if all(step.allowed for step in steps):
        return steps, [step.state for step in steps]
    # Denied: nothing is consumed, so the policies that would have admitted it
    # report their state as it stays (a peek), and the others why they refused.
    steps = [
        check(spec, state, now, 0) if step.allowed else step
        for spec, state, step in zip(specs, states, steps, strict=True)
    ]
    return steps, None
