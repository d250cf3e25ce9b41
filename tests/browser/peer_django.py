"""django-cors-headers on a Django app of the same routes (see peer_apps.py), served in a process of its own.

Its settings, URLs and views in one module: ``DJANGO_SETTINGS_MODULE=tests.browser.peer_django``
and ``uvicorn tests.browser.peer_django:application`` (a process of its own, since
Django's settings are one per process and the test session has the examples').
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from tests.browser.peer_apps import REFUSED, TOO_MANY, Counter, authorized, origins, title_error

SECRET_KEY = "peer-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.browser.peer_django"
INSTALLED_APPS = ["corsheaders"]
MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",  # as high as possible, as its documentation says
    "tests.browser.peer_django.request_id",
    "django.middleware.common.CommonMiddleware",
]
DATABASES: dict[str, object] = {}
CORS_ALLOWED_ORIGINS = origins()
CORS_ALLOW_CREDENTIALS = True
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "CRITICAL"}}


def request_id(get_response: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A request-id middleware: an ``X-Request-ID`` on every response it sees."""

    def middleware(request: Any) -> Any:
        response = get_response(request)
        response["X-Request-ID"] = uuid.uuid4().hex
        return response

    return middleware


def _views() -> list[Any]:
    from django.http import HttpRequest, JsonResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt
    from django.views.decorators.http import require_GET, require_http_methods, require_POST

    counter = Counter()

    def refused() -> JsonResponse:
        return JsonResponse(REFUSED, status=401, headers={"WWW-Authenticate": "Bearer"})

    @require_GET
    def me(request: HttpRequest) -> JsonResponse:
        if not authorized(request.headers.get("Authorization")):
            return refused()
        return JsonResponse({"sub": "browser-user"})

    @csrf_exempt
    @require_POST
    def tasks(request: HttpRequest) -> JsonResponse:
        error = title_error(request.body)
        if error:
            return JsonResponse({"error": {"code": "VALIDATION_ERROR", "message": error}}, status=422)
        return JsonResponse(json.loads(request.body), status=201)

    @require_GET
    def limited(request: HttpRequest) -> JsonResponse:
        allowed, headers = counter.take()
        return JsonResponse({"ok": True} if allowed else TOO_MANY, status=200 if allowed else 429, headers=headers)

    def boom(request: HttpRequest) -> JsonResponse:
        raise RuntimeError("peer-boom")

    @csrf_exempt
    @require_http_methods(["PUT", "DELETE"])
    def guarded(request: HttpRequest) -> JsonResponse:
        if not authorized(request.headers.get("Authorization")):
            return refused()
        return JsonResponse({"method": request.method})

    return [
        path("me", me),
        path("tasks", tasks),
        path("limited", limited),
        path("boom", boom),
        path("guarded", guarded),
    ]


urlpatterns = _views()


_handler: list[Any] = []


async def application(scope: Any, receive: Any, send: Any) -> None:
    """Django's ASGI handler, built at the first request (importing this module sets nothing up)."""
    if not _handler:
        from django.core.asgi import get_asgi_application

        _handler.append(get_asgi_application())
    await _handler[0](scope, receive, send)
