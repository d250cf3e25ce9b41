"""JSON error views for the root URLconf's ``handler400/403/404/500``.

They render what Django would otherwise render as HTML pages: exceptions raised
by middleware and anything else that reaches Django's own error handling::

    # urls.py
    from backendkit.django.views import handler400, handler403, handler404, handler500
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse

from backendkit.django._respond import exception_response
from backendkit.errors import InternalServerError


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``."""
    return exception_response(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler403``."""
    return exception_response(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``."""
    return exception_response(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: maps the exception being handled (an APIError keeps its status).

    Django has already sent ``got_request_exception`` for it, so only the log
    line (with the request id) is added.
    """
    exc = sys.exc_info()[1] or InternalServerError()
    return exception_response(request, exc, signal=False)


handler400 = "backendkit.django.views.bad_request"
handler403 = "backendkit.django.views.permission_denied"
handler404 = "backendkit.django.views.page_not_found"
handler500 = "backendkit.django.views.server_error"

__all__ = [
    "bad_request",
    "handler400",
    "handler403",
    "handler404",
    "handler500",
    "page_not_found",
    "permission_denied",
    "server_error",
]
