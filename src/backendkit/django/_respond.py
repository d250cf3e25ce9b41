"""Rendering an error as a Django response."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from backendkit._runtime import log_unhandled
from backendkit.context import get_request_id
from backendkit.django._state import get_state
from backendkit.errors import APIError, ErrorResponse

MARK = "_backendkit_error"


def to_response(rendered: ErrorResponse) -> HttpResponse:
    """A rendered error as a Django response, marked as ours."""
    response = HttpResponse(rendered.body, status=rendered.status, content_type=rendered.media_type)
    response["Content-Length"] = str(len(rendered.body))
    for name, value in rendered.headers[1:]:
        response[name] = value
    setattr(response, MARK, True)
    return response


def exception_response(request: HttpRequest, exc: BaseException, *, log: bool = True) -> HttpResponse:
    """Map, render and (when nothing mapped it) log an exception."""
    state = get_state()
    request_id = get_request_id()
    handled = state.handler.handle(exc, request_id=request_id, instance=request.path, fallbacks=state.fallbacks)
    if log:
        log_unhandled(exc, handled, request_id=request_id, method=request.method or "", path=request.path)
    return to_response(handled.response)


def error_response(request: HttpRequest, error: APIError) -> HttpResponse:
    """Render an API error that is already known."""
    rendered = get_state().handler.render(error, request_id=get_request_id(), instance=request.path)
    return to_response(rendered)
