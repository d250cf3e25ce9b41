"""The refresh endpoint on Django: a view that reads the form itself and sends what ``refresh_answer`` decides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.urls import path as url_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backendkit.auth import DEFAULT_REFRESH_PATH, TokenIssuer, arefresh_answer, refresh_answer
from backendkit.auth._core.publish import route_path
from backendkit.auth._grant import Answer, refreshes_sync, refreshing


def _response(answer: Answer) -> HttpResponse:
    status, headers, content = answer
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    response["Content-Length"] = str(len(content))  # as the other frameworks send it (Django does not)
    return response


def refresh_view(issuer: TokenIssuer, *, asynchronous: bool = False) -> Callable[..., Any]:
    """The view of the refresh grant: POST only (405 otherwise), exempt from CSRF (no cookie is read).

    The body is read whole (``DATA_UPLOAD_MAX_MEMORY_SIZE`` and ``MAX_BODY_SIZE`` bound it,
    as every body) and parsed by backendkit, the same bytes as on every framework. A
    sync view by default (an async-only revocation list is then run to completion, as
    :func:`backendkit.django.auth.authenticate` does); ``asynchronous=True`` makes an
    async one, for ASGI.
    """
    if asynchronous:
        issuer = refreshing(issuer, sync=False)

        async def refresh_async(request: HttpRequest) -> HttpResponse:
            return _response(await arefresh_answer(issuer, request.body, request.META.get("CONTENT_TYPE")))

        view: Callable[..., Any] = refresh_async
    else:
        issuer = refreshing(issuer, sync=False)
        answer = refresh_answer if refreshes_sync(issuer) else async_to_sync(arefresh_answer)

        def refresh(request: HttpRequest) -> HttpResponse:
            return _response(answer(issuer, request.body, request.META.get("CONTENT_TYPE")))

        view = refresh
    view = csrf_exempt(require_POST(view))
    # Outside ATOMIC_REQUESTS' transaction, on every database: a reuse's revocation must commit even though
    # the answer is a 400 (the refresh stores refuse to run inside another transaction).
    view._non_atomic_requests = set(connections)  # type: ignore[attr-defined]  # (what non_atomic_requests sets)
    return view


def refresh_routes(
    issuer: TokenIssuer, *, path: str = DEFAULT_REFRESH_PATH, asynchronous: bool = False
) -> list[URLPattern]:
    """The refresh endpoint at ``path`` (``/auth/refresh``), POST, as URL patterns to include.

    A refresh grant (RFC 6749 §6) is answered with a new pair (§5.1) or a §5.2 error,
    with ``Cache-Control: no-store``; any other method is a 405 with ``Allow: POST``,
    which ``ErrorMiddleware`` renders in the envelope. Example::

        urlpatterns = [*refresh_routes(issuer), ...]
    """
    view = refresh_view(issuer, asynchronous=asynchronous)
    where = route_path(path, "the refresh endpoint's path").lstrip("/")
    return [url_path(where, view, name="backendkit-refresh")]


__all__ = ["refresh_routes", "refresh_view"]
