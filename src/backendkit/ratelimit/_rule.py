"""A rate limit as HTTP requests meet it: the key, the cost, exemptions, shadow mode and the decision hook.

The framework adapters build a :class:`RequestInfo`, call :meth:`Limit.check`
(or :meth:`Limit.acheck` on an event loop) and translate the :class:`Verdict`:
headers to add to the response, or an error to raise. The policy lives here.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from backendkit._settings import PROBE_PATHS
from backendkit.errors import ConfigurationError, TooManyRequests
from backendkit.ratelimit._decision import Decision
from backendkit.ratelimit._http import policy_field, rate_limit_headers, too_many_requests
from backendkit.ratelimit._keys import KeyFunction, RequestInfo, by_ip
from backendkit.ratelimit._limiter import AsyncRateLimiter, OnStoreError, RateLimiter
from backendkit.ratelimit._memory import MemoryStore
from backendkit.ratelimit._policies import Policy, SlidingWindow
from backendkit.ratelimit._store import AsyncStore, Store

logger = logging.getLogger("backendkit.ratelimit")
T = TypeVar("T")

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

    Example:
        >>> from backendkit.ratelimit import Limit, TokenBucket, by_header
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
        self.policies = [SlidingWindow(policies)] if isinstance(policies, str) else policies
        self.key = key if key is not None else by_ip()
        self.cost = cost
        self.scope = scope
        self.exempt_when = exempt_when
        self.exempt_paths = frozenset(exempt_paths)
        self.shadow = shadow
        self.on_decision = on_decision
        self.legacy_headers = legacy_headers
        self.shadow_refusals = 0
        self._policy_field: str | None = None  # RateLimit-Policy: fixed by the policies
        self._lock = threading.Lock()
        self.store = store if store is not None else MemoryStore()
        options: dict[str, Any] = {
            "prefix": prefix,
            "on_store_error": on_store_error,
            "retry_interval": retry_interval,
            "fallback": fallback,
        }
        self._sync = RateLimiter(self.policies, cast(Store, self.store), **options) if _is_sync(self.store) else None
        self._async = (
            AsyncRateLimiter(self.policies, cast(AsyncStore, self.store), **options) if _is_async(self.store) else None
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
        """The sync limiter; a :class:`ConfigurationError` now if the store cannot serve sync views.

        Adapters call it when a sync view or hook is set up, so a wrong store fails at
        start-up rather than on the first request.
        """
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
        if request.path in self.exempt_paths:
            return None
        if self.exempt_when is not None and _now(self.exempt_when(request)):
            return None
        key = self.key(request)
        if type(key) is not str:  # the common answer needs no awaitable check
            key = _now(key)
            if key is None:
                return None
        bucket = self._bucket(key, request, per_route)
        cost = self.cost
        if type(cost) is not int or cost < 1:
            cost = _cost(_now(cost(request)) if callable(cost) else cost)
        decision = limiter.hit(bucket, cost)
        return self._verdict(bucket, decision, request)

    async def acheck(self, request: RequestInfo, *, per_route: bool) -> Verdict | None:
        """Check a request on an event loop (key, cost and predicate functions may be async)."""
        limiter = self.async_limiter
        if request.path in self.exempt_paths:
            return None
        if self.exempt_when is not None and await _eventually(self.exempt_when(request)):
            return None
        key = self.key(request)
        if type(key) is not str:  # the common answer needs no awaitable check
            key = await _eventually(key)
            if key is None:
                return None
        bucket = self._bucket(key, request, per_route)
        cost = self.cost
        if type(cost) is not int or cost < 1:
            cost = _cost(await _eventually(cost(request)) if callable(cost) else cost)
        return self._verdict(bucket, await limiter.hit(bucket, cost), request)

    def _bucket(self, key: str, request: RequestInfo, per_route: bool) -> str:
        scope = self.scope if self.scope is not None else (request.route or request.path) if per_route else "*"
        return f"{scope}|{key}"

    def _verdict(self, bucket: str, decision: Decision, request: RequestInfo) -> Verdict:
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


def _is_sync(store: object) -> bool:
    return callable(getattr(store, "apply", None))


def _is_async(store: object) -> bool:
    return callable(getattr(store, "aapply", None))


def _cost(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"a request's cost must be a positive whole number, not {value!r}")
    return value


def _now(value: T | Awaitable[T]) -> T:
    if inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()
        raise ConfigurationError("an async key, cost or exempt_when function needs an async view")
    return value


async def _eventually(value: T | Awaitable[T]) -> T:
    return await value if inspect.isawaitable(value) else value
