"""What a check answers: allowed or not, and the state of every policy for the headers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backendkit.ratelimit._algorithms import Step

_US = 1_000_000


@dataclass(slots=True)  # not frozen: a frozen dataclass costs more to build than a whole memory check
class PolicyState:
    """One policy's view after a check.

    Attributes:
        name: The policy's name (``"60-per-60s"``).
        limit: Its quota.
        window: Its window in seconds.
        remaining: Requests (of cost 1) it still admits.
        reset_after: Seconds until it is back at its full quota.
        retry_after: Seconds until this request would pass it; ``None`` when it does.
    """

    name: str
    limit: int
    window: int
    remaining: int
    reset_after: float
    retry_after: float | None


@dataclass(slots=True)
class Decision:
    """The answer to one check.

    ``limit``, ``remaining``, ``reset_after`` and ``retry_after`` describe the
    tightest policy: when denied, the one that makes the client wait longest;
    when allowed, the one with the fewest requests left. ``policies`` holds
    every policy's state, for the ``RateLimit`` headers.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float | None
    policies: tuple[PolicyState, ...]

    @classmethod
    def from_step(cls, name: str, limit: int, window: int, step: Step) -> Decision:
        """The decision of a check with one policy."""
        retry = None if step.allowed else (step.retry_after or 0) / _US
        state = PolicyState(name, limit, window, step.remaining, step.reset_after / _US, retry)
        return cls(step.allowed, limit, step.remaining, state.reset_after, retry, (state,))

    @classmethod
    def from_steps(
        cls, names: Sequence[str], limits: Sequence[int], windows: Sequence[int], steps: Sequence[Step]
    ) -> Decision:
        """Combine the steps of one all-or-nothing check."""
        allowed = all(step.allowed for step in steps)
        states = tuple(
            PolicyState(
                name,
                limit,
                window,
                step.remaining,
                step.reset_after / _US,
                None if step.allowed else (step.retry_after or 0) / _US,
            )
            for name, limit, window, step in zip(names, limits, windows, steps, strict=True)
        )
        if allowed:
            tightest = min(states, key=lambda s: (s.remaining, -s.reset_after))
            return cls(True, tightest.limit, tightest.remaining, tightest.reset_after, None, states)
        tightest = max((s for s in states if s.retry_after is not None), key=lambda s: s.retry_after or 0.0)
        return cls(False, tightest.limit, tightest.remaining, tightest.reset_after, tightest.retry_after, states)
