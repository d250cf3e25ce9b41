"""The middleware's part in HTTP semantics: the exchange begun before routing, every response finished by it.

``ErrorMiddleware`` calls :func:`begin_http` once a request gets past preflights and body
limits, and :func:`finish_http` on every response it sends (errors included), before it
adds the request id, CORS and security headers: a 304 or a 412 gets those too. The
decisions are :class:`~backendkit.http.HttpExchange`'s; this module only moves headers
between it and Django's responses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from contextvars import Token
from http.client import responses
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from backendkit.django._respond import error_response
from backendkit.errors import APIError
from backendkit.http import HttpExchange, HttpSemantics, NotModified, api_version_var, carried_headers

HTTP_EXCHANGE = "backendkit.http"
"""The key of the request's :class:`~backendkit.http.HttpExchange` in ``request.META``."""

ROUTE_ONLY = HttpSemantics()
"""Neither layer: the semantics of an exchange a deprecated view begins when the settings turn both off."""

_UNPREFIXED = {"CONTENT-TYPE": "CONTENT_TYPE", "CONTENT-LENGTH": "CONTENT_LENGTH"}


def header_getter(meta: MutableMapping[str, Any]) -> Callable[[str], str | None]:
    """A request header by name, read from the WSGI environ (``request.headers`` would copy them all first)."""

    def get(name: str) -> str | None:
        upper = name.upper()
        value = meta.get(_UNPREFIXED.get(upper) or "HTTP_" + upper.replace("-", "_"))
        return value if isinstance(value, str) else None

    return get


def begin_http(
    semantics: HttpSemantics, request: HttpRequest
) -> tuple[HttpResponseBase | None, Token[str | None] | None]:
    """Begin the request's exchange: the refusal to send (400/404/410), or the version's context token."""
    meta = request.META
    try:
        exchange = semantics.begin(request.method or "GET", request.path_info, header_getter(meta), now=time.time())
    except APIError as error:
        return error_response(request, error), None
    meta[HTTP_EXCHANGE] = exchange
    request.api_version = exchange.version  # type: ignore[attr-defined]
    return None, api_version_var.set(exchange.version)


def route_exchange(request: Any) -> HttpExchange:
    """The request's exchange; a deprecated view begins one when the settings turned both layers off."""
    meta = request.META
    exchange: HttpExchange | None = meta.get(HTTP_EXCHANGE)
    if exchange is None:
        exchange = meta[HTTP_EXCHANGE] = HttpExchange(ROUTE_ONLY, request.method or "GET")
    return exchange


def finish_http(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """The response to send: ``response`` with the exchange's headers, a 304 in its place, or an error."""
    exchange: HttpExchange | None = request.META.get(HTTP_EXCHANGE)
    if exchange is None:
        return response
    now = time.time()
    body = response.content if isinstance(response, HttpResponse) else None
    done = exchange.finish(response.status_code, list(response.headers.items()), body, now=now)
    if done.error is not None:  # a GET whose If-Match fails against what it produced: 412
        error = error_response(request, done.error)
        headers = list(error.headers.items())
        headers += carried_headers(list(response.headers.items()), headers)
        _become(response, error.status_code, headers, error.content)  # (its cookies and closers stay)
        done = exchange.finish(response.status_code, headers, None, now=now)
    if not done.send_body:
        _become(response, done.status, done.headers, b"")
        return response
    for name, value in done.headers:
        if response.headers.get(name) != value:
            response[name] = value
    return response


def _become(response: HttpResponseBase, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    """``response`` made another answer in place: the same object, so the file or stream it holds is
    still closed by the handler when the request ends, and its cookies are still sent."""
    response.status_code = status
    response.reason_phrase = responses.get(status, "Unknown Status Code")
    if isinstance(response, StreamingHttpResponse):
        response.streaming_content = [body] if body else []
    else:
        assert isinstance(response, HttpResponse)
        response.content = body
    for name in list(response.headers):
        del response.headers[name]
    for name, value in headers:
        response[name] = value


def not_modified(exc: NotModified) -> HttpResponse:
    """The 304 a view asked for by raising :class:`~backendkit.http.NotModified`."""
    response = HttpResponse(status=304)
    del response["Content-Type"]
    for name, value in exc.headers.items():
        response[name] = value
    return response
