"""What a check answers: allowed or not, and the state of every policy for the headers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

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
        states = []
        allowed = True
        for name, limit, window, step in zip(names, limits, windows, steps, strict=True):
            ok, remaining, reset_after, retry_after, _ = step
            retry = None if ok else (retry_after or 0) / _US
            allowed = allowed and ok
            states.append(PolicyState(name, limit, window, remaining, reset_after / _US, retry))
        # Plain loops rather than min/max with a key function: this runs on every check.
        tightest = states[0]
        if allowed:  # the fewest requests left; of those, the longest until reset; the first of equals
            for s in states:
                if s.remaining < tightest.remaining or (
                    s.remaining == tightest.remaining and s.reset_after > tightest.reset_after
                ):
                    tightest = s
            return cls(True, tightest.limit, tightest.remaining, tightest.reset_after, None, tuple(states))
        # The longest wait among the policies that refuse; the first of equals.
        waits = [s for s in states if s.retry_after is not None]
        tightest = waits[0]
        for s in waits:
            if cast(float, s.retry_after) > cast(float, tightest.retry_after):
                tightest = s
        return cls(False, tightest.limit, tightest.remaining, tightest.reset_after, tightest.retry_after, tuple(states))


class _OnePolicy:
    """A one-policy decision's ``policies`` until read: the policy's name and window (the rest is the decision's)."""

    __slots__ = ("name", "window")

    def __init__(self, name: str, window: int) -> None:
        self.name = name
        self.window = window


# ``policies`` reads through a property that builds a one-policy decision's state on first
# access and keeps it in the field's slot; every other decision keeps the tuple it was given.
_policies_slot = Decision.__dict__["policies"]
_set_policies = _policies_slot.__set__


def _policies(decision: Decision) -> tuple[PolicyState, ...]:
    value = _policies_slot.__get__(decision, Decision)
    if type(value) is _OnePolicy:
        d = decision
        value = (PolicyState(value.name, d.limit, value.window, d.remaining, d.reset_after, d.retry_after),)
        _set_policies(decision, value)
    return cast("tuple[PolicyState, ...]", value)


setattr(Decision, "policies", property(_policies, _set_policies, doc="Every policy's state."))  # noqa: B010


def one_policy_decider(name: str, limit: int, window: int) -> Callable[[Step], Decision]:
    """``Decision.from_step`` for one policy checked again and again: the same decision, cheaper.

    The policy's constants are bound once, the decision is filled in field by
    field (the dataclass ``__init__`` call costs more than the assignments),
    and its ``policies`` are built only when read: a caller that reads nothing
    but ``allowed`` never pays for the :class:`PolicyState`.
    """
    pending = _OnePolicy(name, window)
    new = object.__new__

    def decide(step: Step) -> Decision:
        allowed, remaining, reset_after, retry_after, _ = step
        decision: Decision = new(Decision)
        decision.allowed = allowed
        decision.limit = limit
        decision.remaining = remaining
        decision.reset_after = reset_after / _US
        decision.retry_after = None if allowed else (retry_after or 0) / _US
        _set_policies(decision, pending)
        return decision

    return decide
