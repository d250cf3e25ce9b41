"""JSON error views for the root URLconf's ``handler400/403/404/500``.

They render what Django would otherwise render as HTML pages: exceptions raised
by middleware and anything else that reaches Django's own error handling::

    # urls.py
    from backendkit.django.views import handler400, handler403, handler404, handler500

and, with Django's ``CsrfViewMiddleware``, a refused request::

    # settings.py
    CSRF_FAILURE_VIEW = "backendkit.django.views.csrf_failure"
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import REASON_BAD_ORIGIN, REASON_BAD_REFERER

from backendkit.django._respond import error_response, exception_response
from backendkit.errors import Forbidden, InternalServerError


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``."""
    return exception_response(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None, reason: str = "") -> HttpResponse:
    """``handler403``; also a ``CSRF_FAILURE_VIEW`` (Django calls that with ``reason`` alone)."""
    if exception is None:
        return csrf_failure(request, reason)
    return exception_response(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: 403 ``CSRF_FAILED`` in the envelope, instead of Django's HTML page.

    ``details.reason`` is Django's reason ("CSRF cookie not set.", ...) without
    anything the client sent: two of them quote its ``Origin`` or ``Referer``
    header, which is named instead (Django's page shows reasons only with ``DEBUG``).
    """
    reason = _without_client_values(reason)
    error = Forbidden("CSRF verification failed.", code="CSRF_FAILED", details={"reason": reason} if reason else None)
    return error_response(request, error)


def _without_client_values(reason: str) -> str:
    for template, header in ((REASON_BAD_ORIGIN, "the Origin header"), (REASON_BAD_REFERER, "the Referer header")):
        head, _, tail = template.partition("%s")
        if reason.startswith(head) and reason.endswith(tail):
            return f"{head}{header}{tail}"
    return reason


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


# The views themselves (Django takes a callable or a dotted path), so that
# CSRF_FAILURE_VIEW = "backendkit.django.views.handler403" works as well.
handler400 = bad_request
handler403 = permission_denied
handler404 = page_not_found
handler500 = server_error

__all__ = [
    "bad_request",
    "csrf_failure",
    "handler400",
    "handler403",
    "handler404",
    "handler500",
    "page_not_found",
    "permission_denied",
    "server_error",
]
