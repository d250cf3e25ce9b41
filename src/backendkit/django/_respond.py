"""Rendering an error as a Django response."""

from __future__ import annotations

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse

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


def exception_response(request: HttpRequest, exc: BaseException, *, signal: bool = True) -> HttpResponse:
    """Map, render and (when nothing mapped it) log and signal an exception."""
    handled = get_state().handle(exc, method=request.method or "", path=request.path)
    if handled.unhandled and signal:
        # What Django sends for an uncaught exception: error reporters listen for it.
        got_request_exception.send(sender=None, request=request)
    return to_response(handled.response)


def error_response(request: HttpRequest, error: APIError) -> HttpResponse:
    """Render an API error that is already known."""
    return to_response(get_state().render(error, path=request.path))
