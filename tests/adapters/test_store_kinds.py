"""One rule on every framework: a sync-only store used from async code runs in a worker thread,
and an async-only store in sync code is refused when the app is built (shared decision 4).

The sync-only stores are the Redis ones of ``redis-py``'s blocking client, against a real
redis-server; the thread a check ran on is what the key function sees.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, JsonResponse
from django.test import AsyncClient, override_settings
from django.urls import path

from backendkit.errors import ConfigurationError
from backendkit.idempotency import Idempotency
from backendkit.idempotency.redis import AsyncRedisStore as AsyncKeyStore
from backendkit.idempotency.redis import RedisStore as KeyStore
from backendkit.ratelimit import AsyncRedisStore, Limit, RedisStore, RequestInfo
from tests.support.redis import RedisServer

pytestmark = pytest.mark.redis
KEY = {"Idempotency-Key": '"same"'}


class Threads:
    """A rate-limit key function that notes the thread each check ran on."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def __call__(self, request: RequestInfo) -> str:
        self.seen.append(threading.get_ident())
        return "one"


def _limit(redis_server: RedisServer, threads: Threads) -> Limit:
    return Limit("1/minute", key=threads, store=RedisStore(redis_server.url), prefix=f"{uuid.uuid4().hex}:")


def _keys(redis_server: RedisServer) -> Idempotency:
    return Idempotency(KeyStore(redis_server.url), prefix=f"{uuid.uuid4().hex}:")


def _asgi_replays(client: Any, path: str) -> None:
    first, retry = client.post(path, headers=KEY), client.post(path, headers=KEY)
    assert (first.status_code, retry.status_code, retry.json()) == (201, 201, first.json())
    assert retry.headers["idempotent-replayed"] == "true"


def test_starlette_runs_sync_stores_in_a_worker_thread(redis_server: RedisServer) -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from backendkit.asgi.idempotency import IdempotencyMiddleware
    from backendkit.asgi.ratelimit import RateLimitMiddleware
    from backendkit.starlette import install

    runs: list[int] = []
    loop_threads: list[int] = []

    async def pay(request: Request) -> JSONResponse:
        loop_threads.append(threading.get_ident())
        runs.append(1)
        return JSONResponse({"run": len(runs)}, status_code=201)

    threads = Threads()
    limits = Middleware(RateLimitMiddleware, limits=_limit(redis_server, threads))
    keys = Middleware(IdempotencyMiddleware, idempotency=_keys(redis_server))
    app = Starlette(routes=[Route("/pay", pay, methods=["POST"])], middleware=[keys])
    install(app)
    _asgi_replays(TestClient(app), "/pay")
    assert runs == [1]

    limited = Starlette(routes=[Route("/pay", pay, methods=["POST"])], middleware=[limits])
    install(limited)
    with TestClient(limited) as client:  # (one event loop, on one thread, for both requests)
        assert [client.post("/pay").status_code for _ in range(2)] == [201, 429]
    assert threads.seen
    assert loop_threads[-1] not in threads.seen


def test_fastapi_runs_sync_stores_in_a_worker_thread(redis_server: RedisServer) -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from backendkit.fastapi import install
    from backendkit.fastapi.idempotency import IdempotentRoutes
    from backendkit.fastapi.ratelimit import limit

    app = FastAPI()
    install(app)
    keys = IdempotentRoutes(app, _keys(redis_server))
    threads = Threads()
    loop_threads: list[int] = []
    runs: list[int] = []

    @app.post("/pay", status_code=201, dependencies=[keys.depends()])
    async def pay() -> dict[str, int]:
        runs.append(1)
        return {"run": len(runs)}

    @app.get("/search", dependencies=[Depends(limit(_limit(redis_server, threads)))])
    async def search() -> dict[str, bool]:
        loop_threads.append(threading.get_ident())
        return {"ok": True}

    with TestClient(app) as client:  # (one event loop, on one thread, for every request)
        _asgi_replays(client, "/pay")
        assert [client.get("/search").status_code for _ in range(2)] == [200, 429]
    assert runs == [1]
    assert threads.seen
    assert loop_threads[0] not in threads.seen


async def _django_pay(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"thread": threading.get_ident()}, status=201)


urlpatterns = [path("pay", _django_pay)]


def test_django_async_views_run_sync_stores_in_a_worker_thread(redis_server: RedisServer) -> None:
    from backendkit.django.idempotency import idempotent
    from backendkit.django.ratelimit import limit

    threads = Threads()
    view = limit(_limit(redis_server, threads))(idempotent(_keys(redis_server))(_django_pay))
    module = type("urls", (), {"urlpatterns": [path("pay", view)]})

    async def go() -> list[Any]:
        client = AsyncClient()
        return [await client.post("/pay", headers=KEY), await client.post("/pay")]

    with override_settings(ROOT_URLCONF=module, MIDDLEWARE=["backendkit.django.ErrorMiddleware"]):
        first, limited = asyncio.run(go())
    assert (first.status_code, limited.status_code) == (201, 429)
    assert threads.seen
    assert first.json()["thread"] not in threads.seen


def _flask_limit(store: Any) -> Callable[[], object]:
    from backendkit.flask.ratelimit import limit

    return lambda: limit(Limit("1/minute", store=store))


def _flask_keys(store: Any) -> Callable[[], object]:
    from backendkit.flask.idempotency import idempotent

    return lambda: idempotent(Idempotency(store))


def _django_limit(store: Any) -> Callable[[], object]:
    from backendkit.django.ratelimit import limit

    return lambda: limit(Limit("1/minute", store=store))(lambda request: None)


def _django_keys(store: Any) -> Callable[[], object]:
    from backendkit.django.idempotency import idempotent

    return lambda: idempotent(Idempotency(store))(lambda request: None)


@pytest.mark.parametrize(
    "build",
    [
        lambda url: _flask_limit(AsyncRedisStore(url)),
        lambda url: _flask_keys(AsyncKeyStore(url)),
        lambda url: _django_limit(AsyncRedisStore(url)),
        lambda url: _django_keys(AsyncKeyStore(url)),
    ],
    ids=["flask-limit", "flask-idempotent", "django-sync-view-limit", "django-sync-view-idempotent"],
)
def test_an_async_only_store_in_sync_code_is_refused_when_built(
    redis_server: RedisServer, build: Callable[[str], Callable[[], object]]
) -> None:
    with pytest.raises((ConfigurationError, ImproperlyConfigured), match=r"async|event loop"):
        build(redis_server.url)()


def test_an_async_key_with_a_sync_only_store_is_refused_when_built(redis_server: RedisServer) -> None:
    # Refused by the Limit itself, before any adapter sees it: a sync-only store runs in a
    # worker thread from async code, and a thread cannot await the key function.
    async def key(request: RequestInfo) -> str:
        return "one"

    store = RedisStore(redis_server.url)
    with pytest.raises(ConfigurationError, match=r"is async: .* needs a store async code can await"):
        Limit("1/minute", key=key, store=store)
    store.close()
