"""What a check answers: allowed or not, and the state of every policy for the headers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from backendkit.ratelimit._core.algorithms import Step

_US = 1_000_000
_FIELDS = ("allowed", "limit", "remaining", "reset_after", "retry_after", "policies")


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


class Decision:
    """The answer to one check.

    ``limit``, ``remaining``, ``reset_after`` and ``retry_after`` describe the
    tightest policy: when denied, the one that makes the client wait longest;
    when allowed, the one with the fewest requests left. ``policies`` holds
    every policy's state, for the ``RateLimit`` headers.

    A plain slotted class rather than a dataclass, for one reason: a one-policy
    decision builds its ``policies`` only when they are first read. Building the
    :class:`PolicyState` on every check cost 0.31 us, 17 % of a memory check
    (``benchmarks/ratelimit_bench.py``, case 1: 1.80 against 2.11 us), and most
    callers read nothing but ``allowed`` and the headers' fields.
    """

    __slots__ = ("_policies", "allowed", "limit", "remaining", "reset_after", "retry_after")
    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass without frozen is
    degraded = False
    """True when no store answered and the limiter failed open or closed (:class:`DegradedDecision`)."""

    def __init__(
        self,
        allowed: bool,
        limit: int,
        remaining: int,
        reset_after: float,
        retry_after: float | None,
        policies: tuple[PolicyState, ...],
    ) -> None:
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.reset_after = reset_after
        self.retry_after = retry_after
        self._policies: tuple[PolicyState, ...] | _PendingPolicyState = policies

    @property
    def policies(self) -> tuple[PolicyState, ...]:
        """Every policy's state."""
        policies = self._policies
        if type(policies) is _PendingPolicyState:
            policies = self._policies = (
                PolicyState(
                    policies.name, self.limit, policies.window, self.remaining, self.reset_after, self.retry_after
                ),
            )
        return policies  # type: ignore[return-value]

    @policies.setter
    def policies(self, value: tuple[PolicyState, ...]) -> None:
        self._policies = value

    @property
    def policy(self) -> str:
        """The name of the tightest policy: the one ``limit``, ``remaining`` and ``retry_after`` describe."""
        policies = self._policies
        if type(policies) is _PendingPolicyState:
            return policies.name
        # All four fields: two policies may have the same limit and as much left, and differ in reset time only.
        tightest = (self.limit, self.remaining, self.reset_after, self.retry_after)
        for state in self.policies:
            if (state.limit, state.remaining, state.reset_after, state.retry_after) == tightest:
                return state.name
        return self.policies[0].name

    def _fields(self) -> tuple[bool, int, int, float, float | None, tuple[PolicyState, ...]]:
        return (self.allowed, self.limit, self.remaining, self.reset_after, self.retry_after, self.policies)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self._fields() == other._fields()

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(_FIELDS, self._fields(), strict=True))
        return f"Decision({shown})"

    def __reduce__(self) -> tuple[type[Decision], tuple[object, ...]]:
        return (Decision, self._fields())

    def replace(self, **changes: Any) -> Decision:
        """A copy with ``changes`` (field name to value); the policies are the original's."""
        fields: dict[str, Any] = dict(zip(_FIELDS, self._fields(), strict=True))
        fields.update(changes)
        return Decision(**fields)

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


class DegradedDecision(Decision):
    """A decision made without the store: the limiter failed open (``allowed``) or closed."""

    __slots__ = ()
    degraded = True


class _PendingPolicyState:
    """A one-policy decision's ``policies`` until read: the policy's name and window (the rest is the decision's)."""

    __slots__ = ("name", "window")

    def __init__(self, name: str, window: int) -> None:
        self.name = name
        self.window = window


def single_policy_decider(name: str, limit: int, window: int) -> Callable[[bool, int, int, int | None], Decision]:
    """``Decision.from_step`` for one policy checked again and again: the same decision, cheaper.

    The returned function takes a step's first four fields (``allowed``, ``remaining``,
    ``reset_after``, ``retry_after``) as arguments, so that a store that computes them
    need not build a ``Step``. The policy's constants are bound once, and the decision
    is filled in field by field (``__init__``'s call costs more than the assignments)
    with its ``policies`` pending until read.
    """
    pending = _PendingPolicyState(name, window)
    new = object.__new__

    def decide(allowed: bool, remaining: int, reset_after: int, retry_after: int | None) -> Decision:
        decision: Decision = new(Decision)
        decision.allowed = allowed
        decision.limit = limit
        decision.remaining = remaining
        decision.reset_after = reset_after / _US
        decision.retry_after = None if allowed else (retry_after or 0) / _US
        decision._policies = pending
        return decision

    return decide
