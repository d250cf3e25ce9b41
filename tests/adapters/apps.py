"""One small app per framework, built from a dict of settings as each framework takes them.

Every app serves the same routes, so a setting's effect is checked the same way everywhere:
``/ok``, ``/boom`` (a bug), ``/teapot`` (an exception only a registry maps), ``POST /echo``
(reads the body), ``/who`` (the client and the user as backendkit sees them), ``POST /pay``
(counts its runs) and, where a setting configures authentication, ``/me`` (``@require``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from fastapi import Request as FastAPIRequest  # (at module level: the endpoints' annotations are strings)
from fastapi.responses import JSONResponse as FastAPIJSONResponse

from backendkit.context import get_request_facts


class Teapot(Exception):
    """An exception no framework knows: only a registry maps it."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Send = Callable[..., Reply]
PAID: list[int] = []  # the runs of POST /pay


def _who() -> dict[str, str | None]:
    facts = get_request_facts()
    assert facts is not None
    return {"client": facts.client_ip, "user": facts.resolved_user_id()}


def flask(settings: dict[str, Any]) -> Send:
    from flask import Flask, request

    from backendkit.flask import BackendKit
    from backendkit.flask.auth import require

    app = Flask(__name__)
    app.config.update({f"BACKENDKIT_{name.upper()}": value for name, value in settings.items()})
    BackendKit(app)

    @app.get("/ok")
    def ok() -> Any:
        return {"ok": True}

    @app.get("/exposing")
    def exposing() -> Any:
        return {"ok": True}, 200, {"Access-Control-Expose-Headers": "Link"}

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("a bug")

    @app.get("/teapot")
    def teapot() -> Any:
        raise Teapot()

    @app.post("/echo")
    def echo() -> Any:
        return {"size": len(request.get_data())}

    @app.get("/who")
    def who() -> Any:
        return _who()

    @app.post("/pay")
    def pay() -> Any:
        PAID.append(1)
        return {"run": len(PAID)}, 201

    if "auth" in settings:

        @app.get("/me")
        @require()
        def me() -> Any:
            return {"ok": True}

    client = app.test_client()

    def send(method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Reply:
        got = client.open(url, method=method, headers=headers or {}, data=body)
        return Reply(got.status_code, {k.lower(): v for k, v in got.headers.items()}, got.data)

    return send


def _asgi_send(app: Any) -> Send:
    from starlette.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)

    def send(method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Reply:
        got = client.request(method, url, headers=headers or {}, content=body)
        return Reply(got.status_code, {k.lower(): v for k, v in got.headers.items()}, got.content)

    return send


def starlette(settings: dict[str, Any]) -> Send:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from backendkit.starlette import install

    async def ok(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def exposing(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True}, headers={"Access-Control-Expose-Headers": "Link"})

    async def boom(request: Request) -> JSONResponse:
        raise RuntimeError("a bug")

    async def teapot(request: Request) -> JSONResponse:
        raise Teapot()

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"size": len(await request.body())})

    async def who(request: Request) -> JSONResponse:
        return JSONResponse(_who())

    async def pay(request: Request) -> JSONResponse:
        PAID.append(1)
        return JSONResponse({"run": len(PAID)}, status_code=201)

    routes = [
        Route("/ok", ok),
        Route("/exposing", exposing),
        Route("/boom", boom),
        Route("/teapot", teapot),
        Route("/echo", echo, methods=["POST"]),
        Route("/who", who),
        Route("/pay", pay, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    install(app, **settings)
    return _asgi_send(app)


def fastapi(settings: dict[str, Any]) -> Send:
    from fastapi import FastAPI

    from backendkit.fastapi import install

    app = FastAPI()
    install(app, **settings)

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/exposing")
    async def exposing() -> FastAPIJSONResponse:
        return FastAPIJSONResponse({"ok": True}, headers={"Access-Control-Expose-Headers": "Link"})

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/teapot")
    async def teapot() -> None:
        raise Teapot()

    @app.post("/echo")
    async def echo(request: FastAPIRequest) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/who")
    async def who() -> dict[str, str | None]:
        return _who()

    @app.post("/pay", status_code=201)
    async def pay() -> dict[str, int]:
        PAID.append(1)
        return {"run": len(PAID)}

    return _asgi_send(app)


# Django: this module is the URLconf.


def _ok(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def _exposing(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True}, headers={"Access-Control-Expose-Headers": "Link"})


def _boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("a bug")


def _teapot(request: HttpRequest) -> JsonResponse:
    raise Teapot()


def _echo(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"size": len(request.body)})


def _who_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_who())


def _pay(request: HttpRequest) -> JsonResponse:
    PAID.append(1)
    return JsonResponse({"run": len(PAID)}, status=201)


def _me(request: HttpRequest) -> JsonResponse:
    from backendkit.django.auth import require

    return require()(lambda request: JsonResponse({"ok": True}))(request)  # type: ignore[no-any-return]


urlpatterns = [
    path("ok", _ok),
    path("exposing", _exposing),
    path("boom", _boom),
    path("teapot", _teapot),
    path("echo", _echo),
    path("who", _who_view),
    path("pay", _pay),
    path("me", _me),
]
# The piece each setting turns on, in the order the Django docs give.
DJANGO_MIDDLEWARE = {
    "auth": "backendkit.django.auth.AuthMiddleware",
    "rate_limits": "backendkit.django.ratelimit.RateLimitMiddleware",
    "idempotency": "backendkit.django.idempotency.IdempotencyMiddleware",
}


@contextmanager
def django(settings: dict[str, Any]) -> Iterator[Send]:
    from django.test import Client, override_settings

    from backendkit.django._state import get_state

    pieces = [DJANGO_MIDDLEWARE[name] for name in settings if name in DJANGO_MIDDLEWARE]
    middleware = ["backendkit.django.ErrorMiddleware", *pieces]
    backendkit = {name.upper(): value for name, value in settings.items()}
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=middleware, BACKENDKIT=backendkit):
        get_state()  # built now, as Django's start-up does: a refused setting is raised here
        client = Client(raise_request_exception=False)

        def send(method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Reply:
            rest = dict(headers or {})
            content_type = rest.pop("Content-Type", "application/octet-stream")  # (Django's client takes it apart)
            got = client.generic(method, url, body, content_type=content_type, headers=rest)
            return Reply(got.status_code, {k.lower(): v for k, v in got.items()}, got.content)

        yield send


@contextmanager
def built(framework: str, settings: dict[str, Any]) -> Iterator[Send]:
    """The framework's app with ``settings`` (lower-case names), and a way to send it requests."""
    if framework == "django":
        with django(settings) as send:
            yield send
        return
    yield {"flask": flask, "starlette": starlette, "fastapi": fastapi}[framework](settings)


__all__ = ["PAID", "Reply", "Send", "Teapot", "built"]
