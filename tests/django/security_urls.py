"""Routes for the Django security tests (the same as the Flask test app's), and the settings they name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.urls import path
from django.views.decorators.http import require_GET
from pydantic import BaseModel

from backendkit.django import parse_json
from backendkit.django.auth import require
from backendkit.django.health import health_routes
from backendkit.django.idempotency import idempotent
from backendkit.django.ratelimit import limit
from backendkit.django.security import security_headers
from backendkit.django.views import handler400, handler403, handler404, handler500
from backendkit.errors import Unauthorized
from backendkit.health import Health
from backendkit.idempotency import Idempotency, MemoryStore
from backendkit.security import CORS, CSP
from tests.support.security import CORS_SETTING, security_setting

# Named by dotted path in BACKENDKIT["CORS"] and BACKENDKIT["SECURITY_HEADERS"].
CORS_POLICY = CORS(**CORS_SETTING)
HEADERS = security_setting()
PAGE = '<!doctype html><script nonce="{{ csp_nonce }}">document.title = "ok"</script>'
REPLAYS = Idempotency(MemoryStore())


class Item(BaseModel):
    name: str


def ok(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("a bug")


async def async_boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("a bug")


def items(request: HttpRequest) -> JsonResponse:
    return JsonResponse(parse_json(request, Item).model_dump(), status=201)


def echo(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"size": len(request.body)})


@require()
def me(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@limit("1/minute")
def limited(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@idempotent(REPLAYS)
def pay(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"paid": True}, status=201)


@require_GET
def only_get(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(engines["django"].from_string(PAGE).render({}, request))


def nonce(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"nonce": str(request.csp_nonce)})  # type: ignore[attr-defined]


@security_headers(frame_options=None, referrer_policy="same-origin")
def framed(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@security_headers(frame_options=None)
def framed_boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("a bug")


@security_headers(content_security_policy=CSP(default_src=["'self'"]))
async def async_framed(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def cached(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"ok": True})
    response["Cache-Control"] = "max-age=60"
    return response


def own(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"ok": True})
    response["X-Frame-Options"] = "SAMEORIGIN"
    response["Access-Control-Allow-Origin"] = "*"
    return response


class DenyMiddleware:
    """A middleware after ours that refuses ``/denied-by-middleware`` (Django's error views render it)."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if request.path == "/denied-by-middleware":
            raise Unauthorized("Bad token.")
        return self.get_response(request)


urlpatterns = [
    path("ok", ok),
    path("boom", boom),
    path("async-boom", async_boom),
    path("items", items),
    path("echo", echo),
    path("me", me),
    path("limited", limited),
    path("pay", pay),
    path("only-get", only_get),
    path("page", page),
    path("nonce", nonce),
    path("framed", framed),
    path("framed-boom", framed_boom),
    path("async-framed", async_framed),
    path("cached", cached),
    path("own-frame-options", own),
    *health_routes(Health()),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
