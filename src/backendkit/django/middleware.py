"""The middleware: request ids, and JSON for every error a view or the router produces."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.utils.functional import empty
from django.utils.log import log_response

from backendkit._headers import add_headers, close_channel, open_channel
from backendkit._runtime import InFlight
from backendkit._wsgi import terminated_body
from backendkit.django._http import begin_http, finish_http, not_modified
from backendkit.django._respond import MARK, error_response, exception_response
from backendkit.django._security import EXCHANGE, Fields, answer, begin_exchange
from backendkit.django._state import get_semantics, get_state
from backendkit.errors import ContentTooLarge, MethodNotAllowed, NotFound
from backendkit.http import NotModified, api_version_var
from backendkit.logging._core.access import normalize_route
from backendkit.security._exchange import OVERRIDES, Exchange

_LOGGED = "_has_been_logged"  # Django's mark on a response its django.request logger has written
GetResponse = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


class ErrorMiddleware:
    """Request ids and JSON errors; serves sync and async stacks alike.

    Put it first in ``MIDDLEWARE``. It renders exceptions raised by views, the
    router's 404, and the 405 that Django's class-based views return; the error
    views in ``backendkit.django.views`` cover exceptions raised by other middleware.

    With ``BACKENDKIT["CORS"]`` or ``BACKENDKIT["SECURITY_HEADERS"]`` (on by default), it
    answers preflights and CSP reports before every other middleware, and puts the
    CORS and security headers on every response that passes back through it
    (``backendkit.django.security`` has the per-view changes and the nonce).

    With ``BACKENDKIT["CONDITIONAL_REQUESTS"]`` or ``["VERSIONING"]``, it reads the
    request's preconditions and version before routing (``request.api_version``) and
    gives every response its ETag, 304 and deprecation headers
    (``backendkit.django.http`` has the per-view parts).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.state = get_state()
        self.semantics = get_semantics()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        in_flight = self._begin(request)
        response: HttpResponseBase | None = None
        version = None
        try:
            # The version before the body's size, as on Flask and the ASGI stack: an unknown version is its
            # 404 whatever the body, and a deprecated version's 413 carries the version's headers.
            refused = self._answer(request, in_flight)
            if refused is None and self.semantics.active:
                refused, version = begin_http(self.semantics, request)
            refused = refused or self._bound_terminated_body(request) or self._too_large(request)
            result = refused if refused is not None else self.get_response(request)
            assert isinstance(result, HttpResponseBase)
            response = self._finish(request, result)
            return response
        finally:
            if version is not None:
                api_version_var.reset(version)
            self._end(request, in_flight, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        in_flight = self._begin(request)
        response: HttpResponseBase | None = None
        version = None
        try:
            refused = self._answer(request, in_flight)
            if refused is None and self.semantics.active:
                refused, version = begin_http(self.semantics, request)
            refused = refused or self._too_large(request)
            if refused is not None:
                response = self._finish(request, refused)
                return response
            result = self.get_response(request)
            assert not isinstance(result, HttpResponseBase)
            response = self._finish(request, await result)
            return response
        finally:
            if version is not None:
                api_version_var.reset(version)
            self._end(request, in_flight, response)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase:
        """Render any exception a view raised (Django calls this before its own handling)."""
        if isinstance(exception, NotModified):
            return not_modified(exception)
        return exception_response(request, exception)

    def _begin(self, request: HttpRequest) -> InFlight:
        meta = request.META  # not request.headers, which builds a dict of every header first
        in_flight = self.state.start_request(
            meta.get(self.state.environ_key),
            traceparent=meta.get("HTTP_TRACEPARENT"),
            tracestate=meta.get("HTTP_TRACESTATE"),
            method=request.method,
            peer=meta.get("REMOTE_ADDR"),
            forwarded=self.state.forwarded_in(meta),
            route=lambda: normalize_route(getattr(request.resolver_match, "route", None)),
            user_id=lambda: _user_id(request),
            path=request.path,
            scheme=lambda: request.scheme or "http",  # a property that reads the settings: only when observed
            request_size=meta.get("CONTENT_LENGTH"),
        )
        request.request_id = in_flight.request_id  # type: ignore[attr-defined]
        open_channel(meta)
        if self.state.security is not None:
            begin_exchange(self.state, request)
        return in_flight

    def _answer(self, request: HttpRequest, in_flight: InFlight) -> HttpResponseBase | None:
        """A preflight's or a CSP report's answer, before any other middleware (authentication, limits) runs."""
        exchange: Exchange | None = request.META.get(EXCHANGE)
        if exchange is None or (exchange.preflight is None and not exchange.report):
            return None
        return answer(self.state, exchange, request, in_flight.facts.client_ip)

    def _bound_terminated_body(self, request: HttpRequest) -> HttpResponseBase | None:
        """Let Django read a body the WSGI server ends itself (gunicorn's chunked), whole or refused.

        Django reads a WSGI body up to its ``Content-Length``, and none without one.
        gunicorn reads a chunked body itself (``wsgi.input_terminated``), so it can
        be read to its end, with ``MAX_BODY_SIZE`` (or Django's own
        ``DATA_UPLOAD_MAX_MEMORY_SIZE``, the smaller) as the limit past which it is
        a 413. Django keeps the stream it reads from in ``_stream``.

        Django's multipart parser reads ``Content-Length`` bytes, and none without one:
        a multipart body is read here, at most the limit, and its length set, so that
        a chunked upload is parsed (or refused) as one sent with its length.
        """
        limits = [self.state.settings.max_body_size, settings.DATA_UPLOAD_MAX_MEMORY_SIZE]
        known = [limit for limit in limits if limit is not None]
        body = terminated_body(request.META, min(known)) if known else None
        if body is None:
            return None
        if request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/"):
            try:
                data = body.read()
            except ContentTooLarge as exc:
                return error_response(request, exc)
            request.META["CONTENT_LENGTH"] = str(len(data))
            body = io.BytesIO(data)
        request._stream = body
        return None

    def _too_large(self, request: HttpRequest) -> HttpResponseBase | None:
        """The 413 for a body declared larger than ``MAX_BODY_SIZE``, before any view reads it."""
        limit = self.state.settings.max_body_size
        declared = request.META.get("CONTENT_LENGTH") or ""
        if limit is None or not declared.isdigit() or int(declared) <= limit:
            return None
        return error_response(request, ContentTooLarge())

    def _finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not getattr(response, MARK, False):
            original = response
            if isinstance(response, HttpResponseNotAllowed):
                response = error_response(request, MethodNotAllowed(response["Allow"].split(",")))
            elif response.status_code == 404 and getattr(request, "resolver_match", None) is None:
                response = error_response(request, NotFound())  # no URL pattern matched
            if response is not original and getattr(original, _LOGGED, False):
                setattr(response, _LOGGED, True)  # Django logged it already (a class-based view's 405)
        response = finish_http(request, response)  # (inside the headers below: a 304 or 412 gets them too)
        if response.status_code >= 400:
            # Django's own django.request line for an error response, written here,
            # inside the request's context (so with its id), rather than by Django's
            # handler after every middleware has returned. Once per response.
            # (Django's handler passes any response here; the stubs ask for HttpResponse.)
            log_response("%s: %s", response.reason_phrase, request.path, response=cast(Any, response), request=request)
        response[self.state.header] = request.request_id  # type: ignore[attr-defined]
        add_headers(response, close_channel(request.META))  # queued by rate limits
        exchange: Exchange | None = request.META.get(EXCHANGE)
        if exchange is not None:
            exchange.decorate(Fields(response), request.META.get(OVERRIDES))
        return response

    def _end(self, request: HttpRequest, in_flight: InFlight, response: HttpResponseBase | None) -> None:
        size = None
        if isinstance(response, HttpResponse):
            size = len(response.content)
        self.state.end_request(
            in_flight,
            path=request.path,
            query=request.META.get("QUERY_STRING", ""),
            status=response.status_code if response is not None else 500,
            response_size=size,
            user_agent=request.META.get("HTTP_USER_AGENT"),
            deprecated=response is not None and response.has_header("Deprecation"),
        )


def _user_id(request: HttpRequest) -> str | None:
    # Only a user some code has already loaded: looking it up here could query
    # the database, and from async code at that.
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return str(wrapped.pk)


__all__ = ["ErrorMiddleware", "GetResponse"]
