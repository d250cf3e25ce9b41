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

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.http.request import RawPostDataException

from backendkit.auth import AUTHENTICATES
from backendkit.context import client_ip_or, get_request_facts
from backendkit.django._respond import error_response, exception_response
from backendkit.django._state import get_state
from backendkit.errors import APIError, ConfigurationError
from backendkit.idempotency import Attempt, Idempotency, KeyedRequest, Replay, form_body

F = TypeVar("F", bound=Callable[..., Any])
_ATTEMPT = "backendkit.idempotency.attempt"
_STARTED = "backendkit.idempotency.started"  # one start per request (the middleware and a decorator alike)
_AUTH_MIDDLEWARE = "backendkit.django.auth.AuthMiddleware"


def _body(request: HttpRequest) -> bytes:
    """What the fingerprint reads of the body: its bytes, or, for a multipart upload or a body
    already parsed (by the CSRF middleware), the parsed fields and the files' contents, so that
    no upload is held in memory whole and a different form is still a different request."""
    if not (request.content_type or "").startswith("multipart/"):
        try:
            return request.body
        except RawPostDataException:
            pass  # (read as a form already)
    fields = [(name, value) for name, values in request.POST.lists() for value in values]
    files = [
        (name, upload.name or "", _chunks(upload)) for name, uploads in request.FILES.lists() for upload in uploads
    ]
    return form_body(fields, files)


def _chunks(upload: UploadedFile[bytes]) -> Iterator[bytes]:
    yield from upload.chunks()
    upload.seek(0)  # (for the view, which reads it next)


def _keyed(idempotency: Idempotency, request: HttpRequest) -> KeyedRequest:
    facts = get_request_facts()
    key = request.headers.get("Idempotency-Key")
    api_key = request.headers.get(idempotency.api_key_header) if idempotency.api_key_header else None
    return KeyedRequest(
        method=request.method or "",
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        content_type=request.META.get("CONTENT_TYPE") or None,
        body=b"" if key is None else _body(request),  # (no key: the body is left to the view, unread)
        key_values=[] if key is None else [key],  # (two fields arrive joined with ",", which no key holds)
        user_id=facts.resolved_user_id() if facts is not None else None,
        api_key=api_key,
        client=client_ip_or(request.META.get("REMOTE_ADDR")),
    )


def _covered(idempotency: Idempotency, request: HttpRequest) -> bool:
    """Whether this request's key is to be started here: a covered method, not started yet."""
    if not idempotency.applies(request.method or "") or request.META.get(_STARTED):
        return False
    request.META[_STARTED] = True
    return True


def _replayed(replay: Replay) -> HttpResponse:
    response = HttpResponse(replay.response.body, status=replay.response.status)
    del response["Content-Type"]  # (Django sets one; a response stored without one is replayed without)
    for name, value in replay.headers:
        response.headers[name] = value  # (a repeated field keeps its last line, as Django's headers do)
    return response


def _answer(response: HttpResponseBase) -> tuple[int, list[tuple[str, str]], bytes | None]:
    if isinstance(response, StreamingHttpResponse):  # (a FileResponse is one)
        return response.status_code, list(response.items()), None
    render = getattr(response, "render", None)
    if callable(render) and not getattr(response, "is_rendered", True):  # a TemplateResponse, DRF's Response
        render()
    return response.status_code, list(response.items()), getattr(response, "content", None)


def _finish(idempotency: Idempotency, attempt: Attempt, response: HttpResponseBase) -> None:
    try:
        idempotency.finish(attempt, *_answer(response))
    except Exception:
        idempotency.abandon(attempt)
        raise


def idempotent(idempotency: Idempotency, *, required: bool | None = None) -> Callable[[F], F]:
    """Make a view idempotent: a retry with the same key gets the first response, and the view runs once.

    Put it under ``@require``: above, it would start the key before the user is known (refused).
    """

    def decorate(view: F) -> F:
        if getattr(view, AUTHENTICATES, False):
            raise ConfigurationError(f"{view.__name__}: put @idempotent under @require, so the key is the user's")
        if iscoroutinefunction(view):
            return _async_view(idempotency, view, required)  # type: ignore[return-value]
        idempotency.require_sync()

        @functools.wraps(view)
        def keyed_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            outcome = (
                idempotency.start(_keyed(idempotency, request), required=required)
                if _covered(idempotency, request)
                else None
            )
            if isinstance(outcome, Replay):
                return _replayed(outcome)
            if outcome is None:
                response: HttpResponseBase = view(request, *args, **kwargs)
                return response
            try:
                try:
                    response = view(request, *args, **kwargs)
                except Exception as exc:  # rendered now (an APIError, Http404...): the answer kept is the one sent
                    response = exception_response(request, exc)
            except BaseException:
                idempotency.abandon(outcome)
                raise
            _finish(idempotency, outcome, response)
            return response

        return keyed_view  # type: ignore[return-value]

    return decorate


def _async_view(
    idempotency: Idempotency, view: Callable[..., Awaitable[HttpResponseBase]], required: bool | None
) -> Callable[..., Awaitable[HttpResponseBase]]:
    on_loop = idempotency.store_awaits
    start = idempotency.astart if on_loop else sync_to_async(idempotency.start, thread_sensitive=False)
    finish = sync_to_async(_finish, thread_sensitive=False)  # (it may render a template: sync code)
    abandon = idempotency.aabandon if on_loop else sync_to_async(idempotency.abandon, thread_sensitive=False)

    @functools.wraps(view)
    async def keyed_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        outcome = (
            await start(_keyed(idempotency, request), required=required) if _covered(idempotency, request) else None
        )
        if isinstance(outcome, Replay):
            return _replayed(outcome)
        if outcome is None:
            return await view(request, *args, **kwargs)
        try:
            try:
                response = await view(request, *args, **kwargs)
            except Exception as exc:
                response = exception_response(request, exc)
        except BaseException:
            # (in a task of its own: a cancelled request must still release the key)
            _releasing.add(task := asyncio.ensure_future(abandon(outcome)))
            task.add_done_callback(_releasing.discard)
            raise
        await finish(idempotency, outcome, response)
        return response

    return keyed_view


_releasing: set[asyncio.Future[None]] = set()


def configured() -> Idempotency:
    """``BACKENDKIT["IDEMPOTENCY"]``: an ``Idempotency`` (or a dotted path to one)."""
    found = get_state().settings.idempotency
    if not isinstance(found, Idempotency):
        raise ImproperlyConfigured('BACKENDKIT["IDEMPOTENCY"] must be an Idempotency (or a dotted path to one)')
    return found


GetResponse = Callable[[HttpRequest], "HttpResponseBase | Awaitable[HttpResponseBase]"]


class IdempotencyMiddleware:
    """Idempotency keys on every request whose method ``BACKENDKIT["IDEMPOTENCY"]`` covers.

    Put it after ``ErrorMiddleware`` (which renders its refusals) and, with ``BACKENDKIT["AUTH"]``,
    after ``AuthMiddleware`` (refused otherwise: the key would not be the user's).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.idempotency = configured()
        self.idempotency.require_sync()
        if get_state().settings.auth is not None:
            middleware = list(getattr(django_settings, "MIDDLEWARE", ()))
            mine = f"{__name__}.IdempotencyMiddleware"
            if _AUTH_MIDDLEWARE not in middleware or mine in middleware[: middleware.index(_AUTH_MIDDLEWARE)]:
                raise ImproperlyConfigured(f"with BACKENDKIT['AUTH'], put {_AUTH_MIDDLEWARE} before {mine}")
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def process_view(self, request: HttpRequest, *_: Any) -> HttpResponseBase | None:
        if not _covered(self.idempotency, request):
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
            _finish(self.idempotency, attempt, response)
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
