"""What a :class:`~backendkit.ratelimit.Limit` is made of, checked when it is built, and the steps of a check.

Pure. :func:`admission` is a check's decision steps up to the store, written once:
it yields each function of the request it needs (the exemption predicate, the key,
the cost) and is sent back the answer; the sync and the async check only call those
functions (awaiting them on an event loop) and hit their limiter. Every argument of
a limit is checked here when it is built, so a wrong one is a
:class:`~backendkit.errors.ConfigurationError` at start-up, never on a request.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Iterable
from typing import Any, Protocol, cast

from backendkit.errors import ConfigurationError
from backendkit.ratelimit._core.keys import RequestInfo
from backendkit.ratelimit._core.policies import Policy, SlidingWindow

Ask = Callable[[RequestInfo], Any]  # a function of the request whose answer a step needs
Steps = Generator[Ask, object, "tuple[str, int] | None"]
_PLAIN = frozenset((str, bool, int, type(None)))  # answers that are never awaitable


class Rule(Protocol):
    """What the steps read of a limit."""

    exempt_paths: frozenset[str]
    exempt_when: Ask | None
    key: Ask
    cost: int | Ask
    scope: str | None


def admission(rule: Rule, request: RequestInfo, per_route: bool) -> Steps:
    """A check's steps up to the store: the bucket and the cost, or ``None`` when the limit does not apply.

    Example:
        >>> from types import SimpleNamespace
        >>> rule = SimpleNamespace(exempt_paths=frozenset(), exempt_when=None, key=str, cost=1, scope=None)
        >>> request = RequestInfo(method="GET", path="/a", peer="192.0.2.1", headers=lambda name: [], native=None)
        >>> steps = admission(rule, request, per_route=True)
        >>> next(steps) is str  # it asks for the key
        True
        >>> try:
        ...     steps.send("ip:192.0.2.1")
        ... except StopIteration as done:
        ...     done.value
        ('/a|ip:192.0.2.1', 1)
    """
    if request.path in rule.exempt_paths:
        return None
    if rule.exempt_when is not None and (yield rule.exempt_when):
        return None
    client = yield rule.key
    if client is None:
        return None
    scope = rule.scope
    bucket = f"{scope if scope is not None else (request.route or request.path) if per_route else '*'}|{client}"
    cost = rule.cost
    if isinstance(cost, int):
        return bucket, cost
    return bucket, checked_cost((yield cost))


def run_steps(steps: Steps, request: RequestInfo) -> tuple[str, int] | None:
    """Drive ``steps`` in sync code: call each function asked for and send its answer back."""
    answer: object = None
    try:
        while True:
            asked = steps.send(answer)
            answer = asked(request)
            if type(answer) not in _PLAIN:  # (the common answers need no awaitable check)
                answer = _now(asked, answer)
    except StopIteration as done:
        return cast("tuple[str, int] | None", done.value)


async def arun_steps(steps: Steps, request: RequestInfo) -> tuple[str, int] | None:
    """Drive ``steps`` on an event loop: the same, awaiting an answer that must be awaited."""
    answer: object = None
    try:
        while True:
            asked = steps.send(answer)
            answer = asked(request)
            if type(answer) not in _PLAIN and inspect.isawaitable(answer):
                answer = await answer
    except StopIteration as done:
        return cast("tuple[str, int] | None", done.value)


def _now(asked: Ask, answer: object) -> object:
    # An async def function is refused when the limit is built; this is the rest (a plain
    # function that returns a coroutine): a TypeError, as for a function that returns a wrong value.
    if inspect.isawaitable(answer):
        if inspect.iscoroutine(answer):
            answer.close()  # (never awaited: no warning when it is collected)
        raise TypeError(
            f"{asked!r} returned an awaitable in sync code: declare it async def and check it in async code"
        )
    return answer


def checked_cost(value: object) -> int:
    """A cost function's answer, when it is a positive whole number."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"a request's cost must be a positive whole number, not {value!r}")
    return value


# Checked when a limit is built ------------------------------------------------------------


def policy_list(policies: object) -> list[Policy] | Policy:
    """The policies of a limit: a rate string (a sliding window), a policy, or several (as given)."""
    if isinstance(policies, str):
        try:
            return [SlidingWindow(policies)]
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"Limit({policies!r}): {exc}") from None
    if isinstance(policies, Policy):
        return policies
    if isinstance(policies, (list, tuple)) and policies and all(isinstance(p, Policy) for p in policies):
        return list(policies)
    raise ConfigurationError(
        f"a limit's policies are a rate such as '5/minute', a TokenBucket or SlidingWindow, or a list of them; "
        f"not {policies!r}"
    )


def whole_cost(cost: object) -> int | Ask:
    """A limit's cost: a whole number of at least 1, or a function of the request."""
    if callable(cost):
        return cost
    if not isinstance(cost, int) or isinstance(cost, bool) or cost < 1:
        raise ConfigurationError(f"a limit's cost is a whole number of at least 1 or a function, not {cost!r}")
    return cost


def path_set(paths: object) -> frozenset[str]:
    """The exempt paths: strings starting with ``/`` (a single string would be taken letter by letter)."""
    if isinstance(paths, (str, bytes)) or not isinstance(paths, Iterable):
        raise ConfigurationError(f"exempt_paths is a list of paths, not {paths!r}")
    chosen = frozenset(paths)
    for path in chosen:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigurationError(f"an exempt path starts with '/', not {path!r}")
    return chosen


def check_options(**options: object) -> None:
    """Refuse a limit's other arguments unless each is of its kind (``store`` one that can be used at all)."""
    kinds: dict[str, tuple[Callable[[object], bool], str]] = {
        "key": (_function_or_none, "a function of the request"),
        "exempt_when": (_function_or_none, "a function of the request"),
        "on_decision": (_function_or_none, "a function of a DecisionEvent"),
        "scope": (lambda v: v is None or isinstance(v, str), "a string"),
        "prefix": (lambda v: isinstance(v, str), "a string"),
        "shadow": (lambda v: isinstance(v, bool), "True or False"),
        "legacy_headers": (lambda v: isinstance(v, bool), "True or False"),
        "store": (
            lambda v: v is None or is_sync(v) or is_async(v),
            "a store (MemoryStore, RedisStore, AsyncRedisStore)",
        ),
    }
    for name, value in options.items():
        fits, what = kinds[name]
        if not fits(value):
            raise ConfigurationError(f"a limit's {name} is {what}, not {value!r}")


def is_sync(store: object) -> bool:
    """Whether sync code can use ``store``."""
    return callable(getattr(store, "apply", None))


def is_async(store: object) -> bool:
    """Whether async code can await ``store``."""
    return callable(getattr(store, "aapply", None))


def _function_or_none(value: object) -> bool:
    return value is None or callable(value)


def async_function(function: object) -> bool:
    """Whether ``function`` must be awaited (``async def``, a partial of one, an object with ``async __call__``)."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(getattr(function, "__call__", None))  # noqa: B004


__all__ = [
    "Ask",
    "Rule",
    "Steps",
    "admission",
    "arun_steps",
    "async_function",
    "check_options",
    "checked_cost",
    "is_async",
    "is_sync",
    "path_set",
    "policy_list",
    "run_steps",
    "whole_cost",
]
