"""One small app per framework, each naming the client in every piece: a rate limit, idempotency keys, the log.

Every app serves ``GET /who`` (rate-limited; answers ``get_client_ip()``) and
``POST /pay`` (idempotent; answers how many times it ran), with the
``trusted_proxies`` setting given, behind the framework's test client. A
request's socket peer is chosen per request, so a test can play several
clients and the proxies in front of them.
"""

from __future__ import annotations

import asyncio
import json
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from backendkit.context import get_client_ip
from backendkit.idempotency import Idempotency, MemoryStore
from backendkit.ratelimit import DecisionEvent, Limit

FLAVOURS = ["fastapi", "starlette", "flask", "django-sync", "django-async"]
PEER = "192.0.2.10"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class App:
    """What the app saw: the rate-limit keys, and how many times ``/pay`` ran."""

    send: Callable[..., Reply] = field(init=False)
    keys: list[str] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)

    def get(self, headers: dict[str, str] | None = None, *, peer: str = PEER) -> Reply:
        return self.send("GET", "/who", headers or {}, peer)

    def pay(self, key: str, headers: dict[str, str] | None = None, *, peer: str = PEER) -> Reply:
        return self.send("POST", "/pay", {"Idempotency-Key": key, **(headers or {})}, peer)


def _reply(status: int, headers: Any, content: bytes) -> Reply:
    return Reply(status, {k.lower(): v for k, v in headers}, json.loads(content) if content else None)


@contextmanager
def serve(flavour: str, trusted_proxies: Any = None) -> Iterator[App]:
    """An app of ``flavour`` with this ``trusted_proxies`` setting."""
    app = App()
    limit = Limit("100/minute", on_decision=lambda e: app.keys.append(_key(e)), exempt_when=lambda r: r.path != "/who")
    keys = Idempotency(MemoryStore())
    builders = {"fastapi": _fastapi, "starlette": _starlette, "flask": _flask}
    if flavour in builders:
        with builders[flavour](app, limit, keys, trusted_proxies):
            yield app
    else:
        with _django(app, limit, keys, trusted_proxies, is_async=flavour == "django-async"):
            yield app


def _key(event: DecisionEvent) -> str:
    return event.key.split("|", 1)[1]  # without the route's scope: the client's key


def _with_peer(asgi: Any) -> Any:
    """The ASGI app, with each request's socket peer taken from the test's ``x-test-peer`` header."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            peer = dict(scope["headers"]).get(b"x-test-peer", PEER.encode()).decode()
            scope = {**scope, "client": (peer, 5000)}
        await asgi(scope, receive, send)

    return app


@contextmanager
def _asgi_client(asgi: Any, app: App) -> Iterator[None]:
    from fastapi.testclient import TestClient

    with TestClient(_with_peer(asgi)) as client:  # one event loop for every request

        def send(method: str, path: str, headers: dict[str, str], peer: str) -> Reply:
            body = b"{}" if method == "POST" else None
            r = client.request(method, path, headers={**headers, "x-test-peer": peer}, content=body)
            return _reply(r.status_code, r.headers.multi_items(), r.content)

        app.send = send
        yield


@contextmanager
def _fastapi(app: App, limit: Limit, keys: Idempotency, trusted_proxies: Any) -> Iterator[None]:
    from fastapi import Depends, FastAPI

    from backendkit.fastapi import install
    from backendkit.fastapi.idempotency import IdempotentRoutes
    from backendkit.fastapi.ratelimit import limit as limited

    fastapi = FastAPI()
    install(fastapi, trusted_proxies=trusted_proxies)
    idempotent = IdempotentRoutes(fastapi, keys)

    @fastapi.get("/who", dependencies=[Depends(limited(limit))])
    async def who() -> dict[str, str | None]:
        return {"client": get_client_ip()}

    @fastapi.post("/pay", status_code=201, dependencies=[idempotent.depends()])
    async def pay() -> dict[str, int]:
        app.runs.append(1)
        return {"run": len(app.runs)}

    with _asgi_client(fastapi, app):
        yield


@contextmanager
def _starlette(app: App, limit: Limit, keys: Idempotency, trusted_proxies: Any) -> Iterator[None]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from backendkit.asgi.idempotency import IdempotencyMiddleware
    from backendkit.asgi.ratelimit import RateLimitMiddleware
    from backendkit.starlette import install

    async def who(request: Request) -> JSONResponse:
        return JSONResponse({"client": get_client_ip()})

    async def pay(request: Request) -> JSONResponse:
        app.runs.append(1)
        return JSONResponse({"run": len(app.runs)}, status_code=201)

    starlette = Starlette(routes=[Route("/who", who), Route("/pay", pay, methods=["POST"])])
    starlette.add_middleware(IdempotencyMiddleware, idempotency=keys)
    starlette.add_middleware(RateLimitMiddleware, limits=limit)  # (the app's: every request but /who is exempt)
    install(starlette, trusted_proxies=trusted_proxies)
    with _asgi_client(starlette, app):
        yield


@contextmanager
def _flask(app: App, limit: Limit, keys: Idempotency, trusted_proxies: Any) -> Iterator[None]:
    from flask import Flask, jsonify

    from backendkit.flask import BackendKit
    from backendkit.flask.idempotency import idempotent
    from backendkit.flask.ratelimit import limit as limited

    flask = Flask(__name__)
    BackendKit(flask, trusted_proxies=trusted_proxies)

    @flask.get("/who")
    @limited(limit)
    def who() -> Any:
        return jsonify(client=get_client_ip())

    @flask.post("/pay")
    @idempotent(keys)
    def pay() -> Any:
        app.runs.append(1)
        return jsonify(run=len(app.runs)), 201

    client = flask.test_client()

    def send(method: str, path: str, headers: dict[str, str], peer: str) -> Reply:
        body = b"{}" if method == "POST" else None
        r = client.open(path, method=method, headers=headers, data=body, environ_base={"REMOTE_ADDR": peer})
        return _reply(r.status_code, r.headers.items(), r.get_data())

    app.send = send
    yield


@contextmanager
def _django(app: App, limit: Limit, keys: Idempotency, trusted_proxies: Any, *, is_async: bool) -> Iterator[None]:
    from django.conf import settings as django_settings
    from django.http import HttpRequest, JsonResponse
    from django.test import AsyncClient, Client, override_settings
    from django.urls import path

    from backendkit.django.idempotency import idempotent
    from backendkit.django.ratelimit import limit as limited

    if is_async:

        async def who(request: HttpRequest) -> JsonResponse:
            return JsonResponse({"client": get_client_ip()})

        async def pay(request: HttpRequest) -> JsonResponse:
            app.runs.append(1)
            return JsonResponse({"run": len(app.runs)}, status=201)

    else:

        def who(request: HttpRequest) -> JsonResponse:  # type: ignore[misc]
            return JsonResponse({"client": get_client_ip()})

        def pay(request: HttpRequest) -> JsonResponse:  # type: ignore[misc]
            app.runs.append(1)
            return JsonResponse({"run": len(app.runs)}, status=201)

    class PeerAsyncClient(AsyncClient):
        """Requests from ``peer`` (the ASGI scope's client; the defaults and extras would become headers)."""

        peer = PEER

        def _base_scope(self, **request: Any) -> dict[str, Any]:
            scope: dict[str, Any] = super()._base_scope(**request)
            scope["client"] = [self.peer, 5000]
            return scope

    urlconf = types.ModuleType("client_address_urls")
    urlconf.urlpatterns = [path("who", limited(limit)(who)), path("pay", idempotent(keys)(pay))]  # type: ignore[attr-defined]
    backendkit = {**getattr(django_settings, "BACKENDKIT", {}), "TRUSTED_PROXIES": trusted_proxies}
    with override_settings(
        ROOT_URLCONF=urlconf, MIDDLEWARE=["backendkit.django.ErrorMiddleware"], BACKENDKIT=backendkit
    ):
        if is_async:
            async_client = PeerAsyncClient(raise_request_exception=False)
            loop = asyncio.new_event_loop()  # one loop, as under an ASGI server

            def send(method: str, path: str, headers: dict[str, str], peer: str) -> Reply:
                async_client.peer = peer
                call = async_client.generic(method, path, b"{}", "application/json", headers=headers)
                r = loop.run_until_complete(call)
                return _reply(r.status_code, r.headers.items(), r.content)

            app.send = send
            try:
                yield
            finally:
                loop.close()
        else:
            sync_client = Client(raise_request_exception=False)

            def send(method: str, path: str, headers: dict[str, str], peer: str) -> Reply:
                r = sync_client.generic(method, path, b"{}", "application/json", headers=headers, REMOTE_ADDR=peer)
                return _reply(r.status_code, r.headers.items(), r.content)

            app.send = send
            yield
