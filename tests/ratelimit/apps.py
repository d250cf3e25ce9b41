"""One small app per framework flavour, built around given limits, behind its test client.

Every app serves ``GET /r`` and ``GET /other`` (both limited by the route limit),
``GET /free`` (no route limit) and ``GET /boom`` (limited, then fails), so a
behaviour can be checked the same way on FastAPI, Flask and Django (sync and async).
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from backendkit.ratelimit import Limit
from tests.support.asgi import from_peer

FLAVOURS = ["fastapi", "flask", "django-sync", "django-async"]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


Get = Callable[..., Reply]


def _reply(status: int, headers: Any, content: bytes) -> Reply:
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return Reply(status, merged, json.loads(content) if content else None)


@contextmanager
def client(
    flavour: str, route: Limit | None = None, default: Limit | list[Limit] | None = None, trusted_proxies: Any = None
) -> Iterator[Get]:
    """A ``get(path, headers=None)`` function for an app of ``flavour`` with these limits (and trusted proxies)."""
    if flavour == "fastapi":
        with _fastapi(route, default, trusted_proxies) as get:
            yield get
    elif flavour == "flask":
        yield _flask(route, default, trusted_proxies)
    else:
        with _django(route, default, trusted_proxies, is_async=flavour == "django-async") as get:
            yield get


def _stores(*limits: Limit | list[Limit] | None) -> list[Any]:
    found = []
    for item in limits:
        for rule in [item] if isinstance(item, Limit) else item or []:
            found.append(rule.store)
    return found


async def _close(stores: list[Any]) -> None:
    # What an application does at shutdown: close the async clients on their own loop.
    for store in stores:
        if hasattr(store, "aclose"):
            await store.aclose()


@contextmanager
def _fastapi(route: Limit | None, default: Limit | list[Limit] | None, trusted_proxies: Any) -> Iterator[Get]:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from backendkit.fastapi import install
    from backendkit.fastapi.ratelimit import RateLimitMiddleware, limit

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await _close(_stores(route, default))

    app = FastAPI(lifespan=lifespan)
    if default is not None:
        app.add_middleware(RateLimitMiddleware, limits=default)
    install(app, trusted_proxies=trusted_proxies)
    deps = [Depends(limit(route))] if route is not None else []

    @app.get("/r", dependencies=deps)
    async def r() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/other", dependencies=deps)
    async def other() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/free")
    async def free() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/boom", dependencies=deps)
    async def boom() -> None:
        raise LookupError("no such thing")

    with TestClient(from_peer(app, "192.0.2.10", 5000)) as test_client:  # one event loop for every request

        def get(path: str, headers: dict[str, str] | None = None) -> Reply:
            r = test_client.get(path, headers=headers)
            return _reply(r.status_code, r.headers.multi_items(), r.content)

        yield get


def _flask(route: Limit | None, default: Limit | list[Limit] | None, trusted_proxies: Any) -> Get:
    from flask import Flask

    from backendkit.flask import BackendKit
    from backendkit.flask.ratelimit import limit

    app = Flask(__name__)
    BackendKit(app, rate_limits=default, trusted_proxies=trusted_proxies)

    def limited(view: Callable[..., Any]) -> Callable[..., Any]:
        return limit(route)(view) if route is not None else view

    @app.get("/r")
    @limited
    def r() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/other")
    @limited
    def other() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/free")
    def free() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/boom")
    @limited
    def boom() -> None:
        raise LookupError("no such thing")

    test_client = app.test_client()

    def get(path: str, headers: dict[str, str] | None = None) -> Reply:
        r = test_client.get(path, headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.10"})
        return _reply(r.status_code, r.headers.items(), r.get_data())

    return get


def _peer_async_client() -> Any:
    from django.test import AsyncClient

    class PeerAsyncClient(AsyncClient):
        """Requests from 192.0.2.10, as the other test clients send them (defaults would become headers)."""

        def _base_scope(self, **request: Any) -> dict[str, Any]:
            scope: dict[str, Any] = super()._base_scope(**request)
            scope["client"] = ["192.0.2.10", 5000]
            return scope

    return PeerAsyncClient


@contextmanager
def _django(
    route: Limit | None, default: Limit | list[Limit] | None, trusted_proxies: Any, *, is_async: bool
) -> Iterator[Get]:
    import asyncio

    from django.conf import settings as django_settings
    from django.http import HttpRequest, JsonResponse
    from django.test import Client, override_settings
    from django.urls import path

    from backendkit.django.ratelimit import limit
    from backendkit.django.views import handler404, handler500

    def limited(view: Callable[..., Any]) -> Callable[..., Any]:
        return limit(route)(view) if route is not None else view

    if is_async:

        async def ok(request: HttpRequest) -> JsonResponse:
            return JsonResponse({"ok": True})

        async def boom(request: HttpRequest) -> JsonResponse:
            raise LookupError("no such thing")

    else:

        def ok(request: HttpRequest) -> JsonResponse:  # type: ignore[misc]
            return JsonResponse({"ok": True})

        def boom(request: HttpRequest) -> JsonResponse:  # type: ignore[misc]
            raise LookupError("no such thing")

    urlconf = types.ModuleType("rate_limited_urls")  # hashable, as Django's resolver cache needs
    urlconf.urlpatterns = [  # type: ignore[attr-defined]
        path("r", limited(ok)),
        path("other", limited(ok)),
        path("free", ok),
        path("boom", limited(boom)),
    ]
    urlconf.handler404 = handler404  # type: ignore[attr-defined]
    urlconf.handler500 = handler500  # type: ignore[attr-defined]
    middleware = ["backendkit.django.ErrorMiddleware"]
    if default is not None:
        middleware.append("backendkit.django.ratelimit.RateLimitMiddleware")
    backendkit = {**getattr(django_settings, "BACKENDKIT", {}), "RATE_LIMITS": default}
    backendkit["TRUSTED_PROXIES"] = trusted_proxies
    with override_settings(ROOT_URLCONF=urlconf, MIDDLEWARE=middleware, BACKENDKIT=backendkit):
        if is_async:
            async_client = _peer_async_client()(raise_request_exception=False)
            loop = asyncio.new_event_loop()  # one loop, as under an ASGI server

            def get(path: str, headers: dict[str, str] | None = None) -> Reply:
                r = loop.run_until_complete(async_client.get(path, headers=headers))
                return _reply(r.status_code, r.headers.items(), r.content)

            try:
                yield get
            finally:
                loop.run_until_complete(_close(_stores(route, default)))
                loop.close()
        else:
            sync_client = Client(raise_request_exception=False, REMOTE_ADDR="192.0.2.10")

            def get(path: str, headers: dict[str, str] | None = None) -> Reply:
                r = sync_client.get(path, headers=headers)
                return _reply(r.status_code, r.headers.items(), r.content)

            try:
                yield get
            finally:
                for store in _stores(route, default):
                    if hasattr(store, "close"):
                        store.close()
