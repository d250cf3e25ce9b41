"""A rate limit as HTTP requests meet it: the key, the cost, exemptions, shadow mode and the decision hook.

The framework adapters build a :class:`RequestInfo`, call :meth:`Limit.check`
(or :meth:`Limit.acheck` on an event loop) and translate the :class:`Verdict`:
headers to add to the response, or an error to raise. The policy lives here; the
steps up to the store, and the checks of a limit's arguments, in the pure
:mod:`backendkit.ratelimit._core.admission`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from backendkit._deprecation import deprecated
from backendkit._settings import PROBE_PATHS
from backendkit.errors import ConfigurationError, TooManyRequests
from backendkit.observability._core.events import RateLimitDecided, RateLimitOutcome
from backendkit.observability._hub import hub
from backendkit.ratelimit._core.admission import (
    admission,
    arun_steps,
    async_function,
    check_options,
    is_async,
    is_sync,
    path_set,
    policy_list,
    run_steps,
    whole_cost,
)
from backendkit.ratelimit._core.decision import Decision
from backendkit.ratelimit._core.http import policy_field, rate_limit_headers, too_many_requests
from backendkit.ratelimit._core.keys import KeyFunction, RequestInfo, by_ip
from backendkit.ratelimit._core.policies import Policy
from backendkit.ratelimit._core.store import AsyncStore, Store
from backendkit.ratelimit._limiter import AsyncRateLimiter, OnStoreError, RateLimiter
from backendkit.ratelimit._stores.memory import MemoryStore

logger = logging.getLogger("backendkit.ratelimit")

CostFunction = Callable[[RequestInfo], "int | Awaitable[int]"]
Predicate = Callable[[RequestInfo], "bool | Awaitable[bool]"]


@dataclass(frozen=True)
class DecisionEvent:
    """What the ``on_decision`` hook receives for every checked request.

    Attributes:
        limit: The limit that checked it.
        key: The bucket's key (scope and client key, such as ``"/search|ip:192.0.2.1"``).
        decision: The check's answer.
        shadow: True when the limit only observes (a refusal is not enforced).
        method: The request's method.
        path: The request's path.
    """

    limit: Limit
    key: str
    decision: Decision
    shadow: bool
    method: str
    path: str


@dataclass(frozen=True)
class Verdict:
    """What an adapter does with a checked request: add ``headers``; raise ``error`` when it is set."""

    decision: Decision
    key: str
    headers: list[tuple[str, str]]
    error: TooManyRequests | None

    def apply(self, queued: list[tuple[str, str]]) -> Decision:
        """Queue the headers for the response, and raise the refusal (a 429) if there is one.

        ``queued`` is the request's response-header channel; every adapter does this
        with a verdict, and only this. A refusal's ``RateLimit`` fields are queued
        too, after those of the limits checked before it, rather than sent as the
        error's own: so a 429 lists the limits in the order they were checked, as
        an allowed response does. The error keeps ``Retry-After``.
        """
        error = self.error
        if error is None:
            queued += self.headers
            return self.decision
        for name, value in self.headers:
            if name != "Retry-After":
                queued.append((name, value))
                error.headers.pop(name, None)
        raise error


class Limit:
    """A rate limit for HTTP requests: policies, who they count against, and what a refusal does.

    The same object configures every adapter (``backendkit.fastapi.ratelimit``,
    ``backendkit.flask.ratelimit``, ``backendkit.django.ratelimit`` and the ASGI
    middleware), so a limit behaves the same on every framework.

    Args:
        policies: A rate string (a :class:`SlidingWindow`: ``"5/minute"``,
            ``"10/second;1000/hour"``), a policy, or several policies checked
            all-or-nothing.
        key: Who a request counts against: a function of :class:`RequestInfo`,
            sync or async, returning a string, or ``None`` to leave the request
            unlimited. The client address by default (:func:`by_ip`).
        cost: What a request consumes: a whole number, or a function of the request.
        scope: A bucket name shared by every limit that uses it. By default a
            decorator or dependency counts each route on its own and a middleware
            counts the whole application as one.
        exempt_when: A predicate (sync or async); requests for which it is true are not counted.
        exempt_paths: Paths never counted (exact match): the health probes by default, so
            an orchestrator's probes never use up a limit, nor are refused by one.
        shadow: Check and report, but let refused requests through and send no
            headers: a dark launch of a new limit. Would-be refusals are logged on
            ``backendkit.ratelimit`` and counted in :attr:`shadow_refusals`.
        on_decision: Called with a :class:`DecisionEvent` for every check (metrics).
            Its exceptions are logged, never raised.
        store: Where counts live: a :class:`MemoryStore` (the default, one per
            limit), a ``RedisStore`` for sync views or an ``AsyncRedisStore`` for
            async ones.
        prefix: Prepended to every store key.
        on_store_error: ``"open"`` or ``"closed"``; see :class:`RateLimiter`.
        retry_interval: Seconds between attempts to use a failed store again.
        fallback: A store that counts while ``store`` fails (a :class:`MemoryStore`); see :class:`RateLimiter`.
        legacy_headers: Also send ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``.

    Raises:
        ConfigurationError: When an argument is wrong (a cost of 0, a rate that is not
            one, a single string as ``exempt_paths``...), or when an ``async def`` key,
            cost or ``exempt_when`` meets a store that async code cannot await: always
            here, never on a request.

    Example:
        >>> from backendkit.ratelimit import Limit, SlidingWindow, TokenBucket, by_header
        >>> search = Limit([TokenBucket("10/second", burst=20), SlidingWindow("1000/hour")], key=by_header("X-API-Key"))
    """

    def __init__(
        self,
        policies: str | Policy | Sequence[Policy],
        *,
        key: KeyFunction | None = None,
        cost: int | CostFunction = 1,
        scope: str | None = None,
        exempt_when: Predicate | None = None,
        exempt_paths: Iterable[str] = PROBE_PATHS,
        shadow: bool = False,
        on_decision: Callable[[DecisionEvent], object] | None = None,
        store: Store | AsyncStore | None = None,
        prefix: str = "rl:",
        on_store_error: OnStoreError = "open",
        retry_interval: float = 1.0,
        legacy_headers: bool = False,
        fallback: Store | None = None,
    ) -> None:
        check_options(
            key=key,
            exempt_when=exempt_when,
            on_decision=on_decision,
            scope=scope,
            prefix=prefix,
            shadow=shadow,
            legacy_headers=legacy_headers,
            store=store,
        )
        self.policies = policy_list(policies)
        self.key = key if key is not None else by_ip()
        self.cost = whole_cost(cost)
        self.scope = scope
        self.exempt_when = exempt_when
        self.exempt_paths = path_set(exempt_paths)
        self.shadow = shadow
        self.on_decision = on_decision
        self.legacy_headers = legacy_headers
        self.shadow_refusals = 0
        self._policy_field: str | None = None  # RateLimit-Policy: fixed by the policies
        self._lock = threading.Lock()
        self.store = store if store is not None else MemoryStore()
        # An async key, cost or predicate is awaited, so only async code can check this limit: known now.
        self._awaits = next((f for f in (self.key, self.cost, exempt_when) if async_function(f)), None)
        if self._awaits is not None and not is_async(self.store):
            raise ConfigurationError(
                f"{self._awaits!r} is async: only async code can check this limit, and it needs a store "
                f"async code can await (MemoryStore, AsyncRedisStore), not {type(self.store).__name__}"
            )
        if on_store_error == "memory" and fallback is None:  # (once, for both limiters: one warning, one count)
            deprecated('on_store_error="memory"', "fallback=MemoryStore()")
            on_store_error, fallback = "open", MemoryStore()
        options: dict[str, Any] = {
            "prefix": prefix,
            "on_store_error": on_store_error,
            "retry_interval": retry_interval,
            "fallback": fallback,
        }
        self._sync = RateLimiter(self.policies, cast(Store, self.store), **options) if is_sync(self.store) else None
        self._async = (
            AsyncRateLimiter(self.policies, cast(AsyncStore, self.store), **options) if is_async(self.store) else None
        )

    def __repr__(self) -> str:
        return f"Limit({self.policies!r}, scope={self.scope!r}, shadow={self.shadow!r})"

    @property
    def checks_async(self) -> bool:
        """Whether the store can be awaited (``acheck`` works); otherwise only ``check`` does."""
        return self._async is not None

    @property
    def limiter(self) -> RateLimiter:
        """The synchronous limiter (for sync views); a configuration error if the store is async only."""
        return self.require_sync_store()

    @property
    def async_limiter(self) -> AsyncRateLimiter:
        """The asyncio limiter (for async views); a configuration error if the store would block the loop."""
        return self.require_async_store()

    def require_sync_store(self) -> RateLimiter:
        """The sync limiter; a :class:`ConfigurationError` now if sync views cannot use this limit.

        Adapters call it when a sync view or hook is set up, so a wrong store, or an
        async key, cost or ``exempt_when``, fails at start-up rather than on the first request.
        """
        if self._awaits is not None:
            raise ConfigurationError(f"{self._awaits!r} is async: a sync view cannot await it; use an async view")
        if self._sync is None:
            raise ConfigurationError(
                f"{type(self.store).__name__} is async only; a sync view needs a sync store such as RedisStore"
            )
        return self._sync

    def require_async_store(self) -> AsyncRateLimiter:
        """The asyncio limiter; a :class:`ConfigurationError` now if the store would block the event loop."""
        if self._async is None:
            raise ConfigurationError(
                f"{type(self.store).__name__} would block the event loop; async code needs an AsyncRedisStore"
            )
        return self._async

    def check(self, request: RequestInfo, *, per_route: bool) -> Verdict | None:
        """Check a request in sync code; ``None`` when the limit does not apply to it."""
        limiter = self.limiter
        started = time.perf_counter() if hub.observers else 0.0
        admitted = run_steps(admission(self, request, per_route), request)
        return None if admitted is None else self._verdict(admitted[0], limiter.hit(*admitted), request, started)

    async def acheck(self, request: RequestInfo, *, per_route: bool) -> Verdict | None:
        """Check a request on an event loop (key, cost and predicate functions may be async)."""
        limiter = self.async_limiter
        started = time.perf_counter() if hub.observers else 0.0
        admitted = await arun_steps(admission(self, request, per_route), request)
        if admitted is None:
            return None
        return self._verdict(admitted[0], await limiter.hit(*admitted), request, started)

    def _verdict(self, bucket: str, decision: Decision, request: RequestInfo, started: float) -> Verdict:
        if started:
            _observed(decision, self.shadow, started)
        if self.on_decision is not None:
            try:
                self.on_decision(DecisionEvent(self, bucket, decision, self.shadow, request.method, request.path))
            except Exception:
                logger.exception("the on_decision hook of %r failed", self)
        if self.shadow:
            if not decision.allowed:
                with self._lock:
                    self.shadow_refusals += 1
                logger.info(
                    "shadow rate limit would refuse %s %s (retry after %.3f s, key %s)",
                    request.method,
                    request.path,
                    decision.retry_after or 0.0,
                    bucket,  # last: a value with a secret in it is redacted to its end, a comma included
                    extra={"ratelimit_key": bucket, "ratelimit_shadow": True},
                )
            return Verdict(decision, bucket, [], None)
        if self._policy_field is None:
            self._policy_field = policy_field(decision)
        headers = rate_limit_headers(decision, legacy=self.legacy_headers, policy=self._policy_field)
        if decision.allowed:
            return Verdict(decision, bucket, headers, None)
        error = too_many_requests(decision)
        error.headers.update((name, value) for name, value in headers if name != "Retry-After")
        return Verdict(decision, bucket, headers, error)


def _observed(decision: Decision, shadow: bool, started: float) -> None:
    outcome: RateLimitOutcome
    if decision.degraded:
        outcome = "failed_open" if decision.allowed else "failed_closed"
    elif decision.allowed:
        outcome = "allowed"
    else:
        outcome = "shadow_limited" if shadow else "limited"
    hub.emit(RateLimitDecided(decision.policy, outcome, time.perf_counter() - started))


def limit_list(value: object, *, setting: str = "limits") -> list[Limit]:
    """Limits as the adapters take them: one :class:`Limit` or a list (or tuple) of them; ``None`` for none.

    Anything else is a :class:`~backendkit.errors.ConfigurationError` naming
    ``setting`` and saying what to write: a plain rate such as ``"5/minute"``
    above all, which each adapter's per-route ``limit`` accepts but a list of
    limits for every request does not (it would need a scope, a key and a store).
    """
    if value is None:
        return []
    given: list[object] = list(value) if isinstance(value, (list, tuple)) else [value]
    for rule in given:
        if isinstance(rule, str):
            raise ConfigurationError(
                f"{setting} holds Limit objects, not rates: write Limit({rule!r}) "
                "(from backendkit.ratelimit import Limit)"
            )
        if not isinstance(rule, Limit):
            raise ConfigurationError(f"{setting} holds Limit objects, not {type(rule).__name__}: write Limit(...)")
    return cast(list[Limit], given)
