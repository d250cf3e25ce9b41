"""Idempotency keys for Django: ``@idempotent`` for sync and async views, and a middleware for every request.

For one view (under ``@require``, so that the key is scoped by the user)::

    keys = Idempotency(MemoryStore())

    @require_POST
    @idempotent(keys)
    def pay(request): ...

For every covered request (after ``ErrorMiddleware`` and ``AuthMiddleware``)::

    MIDDLEWARE = [..., "backendkit.django.idempotency.IdempotencyMiddleware", ...]
    BACKENDKIT = {"IDEMPOTENCY": "myproject.keys"}  # an Idempotency, or a dotted path to one

The middleware starts a key in ``process_view``, once the URL is resolved and
``AuthMiddleware``'s principal can be read; its store must be sync (Django runs a
sync ``process_view`` in a thread under ASGI). An async view decorated with
``@idempotent`` uses an async store on the loop, or a sync one in a worker thread.
An ``APIError`` the view raises is rendered at once, and kept like any other answer.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from backendkit.context import get_request_facts
from backendkit.django._respond import error_response
from backendkit.django._state import get_state
from backendkit.errors import APIError
from backendkit.idempotency import AsyncIdempotencyStore, Attempt, Idempotency, KeyedRequest, Replay

F = TypeVar("F", bound=Callable[..., Any])
_ATTEMPT = "backendkit.idempotency.attempt"


def _keyed(idempotency: Idempotency, request: HttpRequest) -> KeyedRequest:
    facts = get_request_facts()
    key = request.headers.get("Idempotency-Key")
    api_key = request.headers.get(idempotency.api_key_header) if idempotency.api_key_header else None
    return KeyedRequest(
        method=request.method or "",
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        content_type=request.META.get("CONTENT_TYPE") or None,
        body=request.body,
        key_values=[] if key is None else [key],  # (two fields arrive joined with ",", which no key holds)
        user_id=facts.resolved_user_id() if facts is not None else None,
        api_key=api_key,
        client=(facts.client_ip if facts is not None else None) or request.META.get("REMOTE_ADDR"),
    )


def _replayed(replay: Replay) -> HttpResponse:
    response = HttpResponse(replay.response.body, status=replay.response.status)
    for name, value in replay.headers:
        if name.lower() == "content-type":
            response["Content-Type"] = value
        else:
            response.headers[name] = value  # (a repeated field keeps its last line, as Django's headers do)
    return response


def _answer(response: HttpResponseBase) -> tuple[int, list[tuple[str, str]], bytes | None]:
    body = None if isinstance(response, StreamingHttpResponse) else getattr(response, "content", None)
    return response.status_code, list(response.items()), body


def idempotent(idempotency: Idempotency, *, required: bool | None = None) -> Callable[[F], F]:
    """Make a view idempotent: a retry with the same key gets the first response, and the view runs once."""

    def decorate(view: F) -> F:
        if iscoroutinefunction(view):
            return _async_view(idempotency, view, required)  # type: ignore[return-value]
        idempotency.require_sync()

        @functools.wraps(view)
        def keyed_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            outcome = idempotency.start(_keyed(idempotency, request), required=required)
            if isinstance(outcome, Replay):
                return _replayed(outcome)
            if outcome is None:
                response: HttpResponseBase = view(request, *args, **kwargs)
                return response
            try:
                response = view(request, *args, **kwargs)
            except APIError as exc:  # rendered now, so the answer kept is the one the client gets
                response = error_response(request, exc)
            except BaseException:
                idempotency.abandon(outcome)
                raise
            idempotency.finish(outcome, *_answer(response))
            return response

        return keyed_view  # type: ignore[return-value]

    return decorate


def _async_view(
    idempotency: Idempotency, view: Callable[..., Awaitable[HttpResponseBase]], required: bool | None
) -> Callable[..., Awaitable[HttpResponseBase]]:
    on_loop = isinstance(idempotency.store, AsyncIdempotencyStore)
    start = idempotency.astart if on_loop else sync_to_async(idempotency.start, thread_sensitive=False)
    finish = idempotency.afinish if on_loop else sync_to_async(idempotency.finish, thread_sensitive=False)
    abandon = idempotency.aabandon if on_loop else sync_to_async(idempotency.abandon, thread_sensitive=False)

    @functools.wraps(view)
    async def keyed_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        outcome = await start(_keyed(idempotency, request), required=required)
        if isinstance(outcome, Replay):
            return _replayed(outcome)
        if outcome is None:
            return await view(request, *args, **kwargs)
        try:
            response = await view(request, *args, **kwargs)
        except APIError as exc:
            response = error_response(request, exc)
        except BaseException:
            await abandon(outcome)
            raise
        await finish(outcome, *_answer(response))
        return response

    return keyed_view


def configured() -> Idempotency:
    """``BACKENDKIT["IDEMPOTENCY"]``: an ``Idempotency`` (or a dotted path to one)."""
    found = get_state().settings.idempotency
    if not isinstance(found, Idempotency):
        raise ImproperlyConfigured('BACKENDKIT["IDEMPOTENCY"] must be an Idempotency (or a dotted path to one)')
    return found


GetResponse = Callable[[HttpRequest], "HttpResponseBase | Awaitable[HttpResponseBase]"]


class IdempotencyMiddleware:
    """Idempotency keys on every request whose method ``BACKENDKIT["IDEMPOTENCY"]`` covers.

    Put it after ``ErrorMiddleware`` (which renders its refusals) and ``AuthMiddleware``.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.idempotency = configured()
        self.idempotency.require_sync()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def process_view(self, request: HttpRequest, *_: Any) -> HttpResponseBase | None:
        if not self.idempotency.applies(request.method or ""):
            return None
        try:
            outcome = self.idempotency.start(_keyed(self.idempotency, request))
        except APIError as refusal:
            return error_response(request, refusal)
        if isinstance(outcome, Replay):
            return _replayed(outcome)
        if outcome is not None:
            request.META[_ATTEMPT] = outcome
        return None

    def _finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        attempt: Attempt | None = request.META.pop(_ATTEMPT, None)
        if attempt is not None:
            self.idempotency.finish(attempt, *_answer(response))
        return response

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)
        return self._finish(request, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        result = self.get_response(request)
        assert not isinstance(result, HttpResponseBase)
        response = await result
        if _ATTEMPT in request.META:
            return await sync_to_async(self._finish, thread_sensitive=False)(request, response)
        return response


__all__ = ["IdempotencyMiddleware", "configured", "idempotent"]
