"""Rate limits for Django: a middleware for limits on every request, and ``@limit`` for sync and async views.

Set-up for limits on every request (after ``ErrorMiddleware``)::

    MIDDLEWARE = ["backendkit.django.ErrorMiddleware", "backendkit.django.ratelimit.RateLimitMiddleware", ...]
    BACKENDKIT = {"RATE_LIMITS": Limit("1000/hour")}  # a Limit, a list of them, or a dotted path to either

and for one view::

    @limit("5/minute")
    def search(request): ...
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

from backendkit._headers import channel
from backendkit.django._respond import error_response
from backendkit.django._state import get_state
from backendkit.errors import ConfigurationError, TooManyRequests
from backendkit.ratelimit import Decision, Limit, Policy, RequestInfo, Verdict, limit_list

F = TypeVar("F", bound=Callable[..., Any])


def _info(request: HttpRequest) -> RequestInfo:
    return RequestInfo.from_environ(request.META, path=request.path, native=request)


def _check(rule: Limit, request: HttpRequest, *, per_route: bool) -> Verdict | None:
    return rule.check(_info(request), per_route=per_route)


async def _acheck(rule: Limit, request: HttpRequest, *, per_route: bool) -> Verdict | None:
    if rule.checks_async:
        return await rule.acheck(_info(request), per_route=per_route)
    # A sync-only store (RedisStore): off the event loop, in a worker thread.
    return await sync_to_async(_check, thread_sensitive=False)(rule, request, per_route=per_route)


def _allowed(verdict: Verdict | None, request: HttpRequest) -> Decision | None:
    """Raise the 429 of a refusal; queue an allowed check's headers for ``ErrorMiddleware``."""
    queued = channel(request.META)  # opened by ErrorMiddleware
    if queued is None:
        raise ImproperlyConfigured("rate limits need backendkit.django.ErrorMiddleware in MIDDLEWARE")
    return None if verdict is None else verdict.apply(queued)


def limit(policies: str | Policy | Sequence[Policy] | Limit, **options: Any) -> Callable[[F], F]:
    """Limit a view, sync or async: ``@limit("5/minute")`` or ``@limit(Limit(...))``.

    ``options`` are those of :class:`~backendkit.ratelimit.Limit`. The bucket is
    per route unless the limit names a ``scope``. An async view is checked on
    the event loop with an async store, and in a worker thread with a sync one.
    A refusal raises the 429 for ``ErrorMiddleware`` to render. On a class-based
    view, decorate the handler: ``method_decorator(limit(...), name="get")``.
    """
    rule = policies if isinstance(policies, Limit) else Limit(policies, **options)

    def decorate(view: F) -> F:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def limited_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                req = _request(request, args)
                _allowed(await _acheck(rule, req, per_route=True), req)
                return await view(request, *args, **kwargs)

            return limited_async  # type: ignore[return-value]

        rule.require_sync_store()  # a sync view needs a sync store: say so now

        @functools.wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            req = _request(request, args)
            _allowed(_check(rule, req, per_route=True), req)
            return view(request, *args, **kwargs)

        return limited  # type: ignore[return-value]

    return decorate


def _request(first: Any, args: tuple[Any, ...]) -> HttpRequest:
    # A function view gets the request first; a method decorated without method_decorator gets self.
    if isinstance(first, HttpRequest):
        return first
    for arg in args:
        if isinstance(arg, HttpRequest):
            return arg
    raise TypeError("@limit decorates views: no HttpRequest among the arguments")


def configured_limits() -> list[Limit]:
    """``BACKENDKIT["RATE_LIMITS"]``: a Limit, a list of them, or a dotted path to either.

    Anything else is ``ImproperlyConfigured``, with what to write instead; system
    check ``backendkit.E004`` reports it at start-up.
    """
    try:
        return limit_list(get_state().settings.rate_limits, setting='BACKENDKIT["RATE_LIMITS"]')
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"{exc}; or give a dotted path to your limits") from None


GetResponse = Callable[[HttpRequest], "HttpResponseBase | Awaitable[HttpResponseBase]"]


class RateLimitMiddleware:
    """Check every request against ``BACKENDKIT["RATE_LIMITS"]``; sync and async stacks alike.

    Put it after ``ErrorMiddleware``, which adds the headers to the response.
    A middleware's limits count the whole site as one bucket per key unless
    they name a ``scope``.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.limits = configured_limits()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        else:
            for rule in self.limits:
                rule.require_sync_store()

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        for rule in self.limits:
            refusal = self._refusal(_check(rule, request, per_route=False), request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        for rule in self.limits:
            refusal = self._refusal(await _acheck(rule, request, per_route=False), request)
            if refusal is not None:
                return refusal
        result = self.get_response(request)
        assert not isinstance(result, HttpResponseBase)
        return await result

    @staticmethod
    def _refusal(verdict: Verdict | None, request: HttpRequest) -> HttpResponseBase | None:
        try:
            _allowed(verdict, request)
        except TooManyRequests as refusal:  # a middleware answers it rather than raising
            return error_response(request, refusal)
        return None


__all__ = ["RateLimitMiddleware", "configured_limits", "limit"]
