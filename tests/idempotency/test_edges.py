"""The edges an independent review found: each test failed before its fix.

Responses kept when something raises after them, keys started only after authentication,
bodies read only with a key, uncovered methods left alone, values not ours, half bodies,
cancellation, zero-copy responses, raised 4xx kept, one start per request, 204 replays.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from typing import Any

import anyio
import pytest
from django.test import Client, override_settings
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Request
from fastapi.testclient import TestClient
from flask import Flask, abort, jsonify, request

from backendkit.asgi.idempotency import IdempotencyMiddleware
from backendkit.auth import Principal
from backendkit.errors import ConfigurationError
from backendkit.fastapi import install
from backendkit.fastapi.auth import Auth, current_principal
from backendkit.fastapi.idempotency import IdempotentRoutes
from backendkit.flask import BackendKit
from backendkit.flask.idempotency import idempotent, idempotent_every_request
from backendkit.idempotency import Idempotency, KeyedRequest, MemoryStore, storage_key
from backendkit.idempotency.redis import AsyncRedisStore
from tests.auth.apps import verifier
from tests.auth.keys import token
from tests.idempotency import django_urls
from tests.support.net import free_port
from tests.support.redis import RedisServer
from tests.support.servers import ROOT

KEY = {"Idempotency-Key": "edge-1"}


def test_a_response_sent_whole_is_kept_though_a_background_task_raised() -> None:
    app = FastAPI()
    install(app)
    keys = IdempotentRoutes(app, Idempotency(MemoryStore()))
    charged: list[int] = []

    def fails() -> None:
        raise RuntimeError("the e-mail could not be sent")

    @app.post("/charge", status_code=201, dependencies=[keys.depends()])
    def charge(tasks: BackgroundTasks) -> dict[str, int]:
        charged.append(1)
        tasks.add_task(fails)
        return {"charged": len(charged)}

    with TestClient(app, raise_server_exceptions=False) as client:
        first, again = (client.post("/charge", headers=KEY) for _ in range(2))
    assert (first.status_code, again.status_code, again.content) == (201, 201, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert charged == [1]


def _auth_app() -> tuple[FastAPI, Auth, IdempotentRoutes]:
    app = FastAPI()
    install(app)
    return app, Auth(verifier()), IdempotentRoutes(app, Idempotency(MemoryStore()))


def _direct(app: FastAPI, auth: Auth, keys: IdempotentRoutes) -> None:
    # The principal as a parameter: FastAPI resolves the route's dependencies=[...] first.
    @app.post("/orders", status_code=201, dependencies=[keys.depends()])
    def order(principal: Principal = Depends(auth.require())) -> None: ...  # noqa: B008


def _in_a_router(app: FastAPI, auth: Auth, keys: IdempotentRoutes) -> None:
    router = APIRouter()

    @router.post("/orders", status_code=201, dependencies=[keys.depends()])
    def order(principal: Principal = Depends(auth.require())) -> None: ...  # noqa: B008

    app.include_router(router, prefix="/v1")


def _key_at_the_inclusion(app: FastAPI, auth: Auth, keys: IdempotentRoutes) -> None:
    router = APIRouter()

    @router.post("/orders", status_code=201, dependencies=[Depends(auth.require())])
    def order() -> None: ...

    app.include_router(router, dependencies=[keys.depends()])  # resolved before the route's own


def _key_for_the_whole_router(app: FastAPI, auth: Auth, keys: IdempotentRoutes) -> None:
    router = APIRouter(dependencies=[keys.depends()])

    @router.post("/orders", status_code=201)
    def order(principal: Principal = Depends(auth.require())) -> None: ...  # noqa: B008

    app.include_router(router)


def _nested_routers(app: FastAPI, auth: Auth, keys: IdempotentRoutes) -> None:
    outer, inner = APIRouter(), APIRouter()

    @inner.post("/orders", status_code=201, dependencies=[keys.depends()])
    def order(principal: Principal = Depends(auth.require())) -> None: ...  # noqa: B008

    outer.include_router(inner, prefix="/inner")
    app.include_router(outer, prefix="/outer")


@pytest.mark.parametrize(
    ("misorder", "route"),
    [
        (_direct, "POST /orders"),
        (_in_a_router, "POST /v1/orders"),
        (_key_at_the_inclusion, "POST /orders"),
        (_key_for_the_whole_router, "POST /orders"),
        (_nested_routers, "POST /outer/inner/orders"),
    ],
    ids=["route", "router", "inclusion", "router-wide", "nested"],
)
def test_a_key_started_before_authentication_is_refused_where_the_route_is_added(misorder: Any, route: str) -> None:
    # It was a 500 on every request instead (the check ran at the route's first request).
    app, auth, keys = _auth_app()
    with pytest.raises(ConfigurationError) as refused:
        misorder(app, auth, keys)
    message = str(refused.value)
    assert message.startswith(f"{route}: the Idempotency-Key dependency runs before the authentication")
    assert "declare the authentication before keys.depends()" in message


def test_a_route_no_hook_sees_stops_the_app_at_startup() -> None:
    from tests.idempotency import misordered_app

    with (
        pytest.raises(ConfigurationError, match="POST /orders: the Idempotency-Key dependency runs before"),
        TestClient(misordered_app.app),
    ):
        pass  # (not reached: the app fails to start)


@pytest.mark.socket
def test_under_uvicorn_a_misordered_app_does_not_start() -> None:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "tests.idempotency.misordered_app:app", "--port", str(port)]
    server = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode != 0
    text = output.decode(errors="replace")
    assert "POST /orders: the Idempotency-Key dependency runs before the authentication" in text
    assert "Application startup failed" in text


def test_served_without_a_lifespan_the_route_is_still_refused() -> None:
    # The last resort, where neither the hooks nor the startup saw the route: refused at its first
    # request (a 500, the error in the log), never run with a key scoped by the client's address.
    from tests.idempotency import misordered_app

    client = TestClient(misordered_app.app, raise_server_exceptions=False)  # (no `with`: no lifespan)
    reply = client.post("/orders", headers={**KEY, "Authorization": f"Bearer {token(sub='alice')}"})
    assert reply.status_code == 500


@pytest.mark.parametrize("order", ["cached", "parameters", "inclusion"])
def test_fastapi_keys_are_each_users_own(order: str) -> None:
    app, auth, keys = _auth_app()
    runs: list[str] = []
    authenticated = auth.require()
    if order == "cached":  # the same dependency before the key, and as the endpoint's parameter (from the cache)

        @app.post("/orders", status_code=201, dependencies=[Depends(authenticated), keys.depends()])
        def cached(principal: Principal = Depends(authenticated)) -> dict[str, str]:
            runs.append(principal.subject)
            return {"owner": principal.subject}

    elif order == "parameters":  # the key as a parameter after the principal's

        @app.post("/orders", status_code=201)
        def parameters(
            principal: Principal = Depends(authenticated),
            key: None = keys.depends(),
        ) -> dict[str, str]:
            runs.append(principal.subject)
            return {"owner": principal.subject}

    else:  # the authentication at the inclusion, the key on the route
        router = APIRouter()

        @router.post("/orders", status_code=201, dependencies=[keys.depends()])
        def included(request: Request) -> dict[str, str]:
            principal = current_principal(request)
            assert principal is not None
            runs.append(principal.subject)
            return {"owner": principal.subject}

        app.include_router(router, dependencies=[Depends(authenticated)])

    with TestClient(app) as client:
        alice = client.post("/orders", headers={**KEY, "Authorization": f"Bearer {token(sub='alice')}"})
        bob = client.post("/orders", headers={**KEY, "Authorization": f"Bearer {token(sub='bob')}"})
        again = client.post("/orders", headers={**KEY, "Authorization": f"Bearer {token(sub='alice')}"})
        anonymous = client.post("/orders", headers=KEY)
    assert (alice.status_code, bob.status_code, anonymous.status_code) == (201, 201, 401)
    assert (alice.json(), bob.json()) == ({"owner": "alice"}, {"owner": "bob"})
    assert "idempotent-replayed" not in bob.headers
    assert (again.json(), again.headers["idempotent-replayed"]) == ({"owner": "alice"}, "true")
    assert runs == ["alice", "bob"]


def test_idempotent_above_require_is_refused() -> None:
    from backendkit.django.auth import require as django_require
    from backendkit.django.idempotency import idempotent as django_idempotent
    from backendkit.flask.auth import require as flask_require

    keys = Idempotency(MemoryStore())
    with pytest.raises(ConfigurationError, match="under @require"):
        idempotent(keys)(flask_require()(lambda: None))
    with pytest.raises(ConfigurationError, match="under @require"):
        django_idempotent(keys)(django_require()(lambda request: None))


def test_the_django_middleware_needs_auth_middleware_first_when_auth_is_set() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from backendkit.django.idempotency import IdempotencyMiddleware as DjangoMiddleware

    config = {"IDEMPOTENCY": "tests.idempotency.django_urls.middleware_keys", "AUTH": "tests.auth.apps.verifier"}
    mine = "backendkit.django.idempotency.IdempotencyMiddleware"
    with (
        override_settings(BACKENDKIT=config, MIDDLEWARE=["backendkit.django.ErrorMiddleware", mine]),
        pytest.raises(ImproperlyConfigured, match="AuthMiddleware"),
    ):
        DjangoMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    ordered = ["backendkit.django.ErrorMiddleware", "backendkit.django.auth.AuthMiddleware", mine]
    with override_settings(BACKENDKIT=config, MIDDLEWARE=ordered):
        DjangoMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]


@pytest.fixture
def django_runs() -> Any:
    django_urls.runs.clear()
    with override_settings(ROOT_URLCONF="tests.idempotency.django_urls"):
        yield django_urls.runs


def test_django_renders_a_template_response_before_keeping_it(django_runs: list[str]) -> None:
    client = Client()
    first, again = (client.post("/rendered", headers=KEY) for _ in range(2))
    assert (first.status_code, again.status_code, again.content) == (201, 201, first.content)
    assert again["Idempotent-Replayed"] == "true"
    assert django_runs == ["rendered"]


def test_django_reads_no_body_without_a_key_and_hashes_uploads_with_one(django_runs: list[str]) -> None:
    client = Client()
    big = io.BytesIO(b"x" * 5000)  # over DATA_UPLOAD_MAX_MEMORY_SIZE here, were the body read whole
    big.name = "big.bin"
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        assert client.post("/upload", {"file": big}).status_code == 201
        big.seek(0)
        assert client.post("/upload", {"file": big}, headers={"Idempotency-Key": "edge-big"}).status_code == 201
    small = io.BytesIO(b"first")
    small.name = "a.txt"
    assert client.post("/upload", {"file": small}, headers=KEY).status_code == 201
    other = io.BytesIO(b"second")
    other.name = "a.txt"
    changed = client.post("/upload", {"file": other}, headers=KEY)
    assert (changed.status_code, json.loads(changed.content)["error"]["code"]) == (422, "IDEMPOTENCY_KEY_MISMATCH")


def test_decorators_leave_uncovered_methods_alone(django_runs: list[str]) -> None:
    client = Client()
    answers = [json.loads(client.get("/count", headers=KEY).content) for _ in range(2)]
    assert answers == [{"run": 1}, {"run": 2}]  # GET with a key: never kept, never replayed

    app = Flask(__name__)
    BackendKit(app)
    runs: list[str] = []

    @app.route("/count", methods=["GET", "PUT"])
    @idempotent(Idempotency(MemoryStore()))
    def count() -> Any:
        runs.append(request.method)
        return jsonify(run=len(runs))

    flask_client = app.test_client()
    assert [flask_client.get("/count", headers=KEY).json for _ in range(2)] == [{"run": 1}, {"run": 2}]
    assert [flask_client.put("/count", headers=KEY).json for _ in range(2)] == [{"run": 3}, {"run": 4}]


def test_a_router_wide_dependency_leaves_get_alone() -> None:
    app = FastAPI()
    install(app)
    keys = IdempotentRoutes(app, Idempotency(MemoryStore()))
    router = APIRouter(dependencies=[keys.depends()])

    @router.get("/items")
    def items() -> list[int]:
        return []

    app.include_router(router)
    with TestClient(app) as client:
        assert [client.get("/items", headers=KEY).status_code, client.head("/items").status_code] == [200, 200]


def test_flask_fingerprints_a_form_a_hook_has_read() -> None:
    app = Flask(__name__)
    BackendKit(app)
    app.before_request(lambda: request.form and None)  # a CSRF hook reads the form first

    @app.post("/pay")
    @idempotent(Idempotency(MemoryStore()))
    def pay() -> Any:
        return jsonify(amount=request.form["amount"]), 201

    client = app.test_client()
    assert client.post("/pay", data={"amount": "5"}, headers=KEY).status_code == 201
    changed = client.post("/pay", data={"amount": "5000"}, headers=KEY)
    assert (changed.status_code, changed.json["error"]["code"]) == (422, "IDEMPOTENCY_KEY_MISMATCH")


@pytest.mark.parametrize("on_error", ["closed", "open"])
def test_a_value_not_ours_follows_the_failure_policy(on_error: str, caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    keys = Idempotency(store, on_store_error=on_error)  # type: ignore[arg-type]
    keyed = KeyedRequest("POST", "/pay", "", None, b"{}", ["edge-1"], client="10.0.0.1")
    store.begin(storage_key(keys.prefix, "client:10.0.0.1", "POST", "/pay", "edge-1"), b"garbage\xff", 60_000)
    with caplog.at_level(logging.ERROR, logger="backendkit.idempotency"):
        if on_error == "closed":
            from backendkit.errors import ServiceUnavailable

            with pytest.raises(ServiceUnavailable):
                keys.start(keyed)
        else:
            assert keys.start(keyed) is None  # served without idempotency
    assert any("not ours" in r.getMessage() for r in caplog.records)


def _raw_app(runs: list[str], message: dict[str, Any] | None = None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive())["type"] == "http.request" and False:
            pass
        runs.append("run")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send(message or {"type": "http.response.body", "body": b"ok"})

    return app


def _call(app: Any, *, body_messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "method": "POST", "path": "/raw", "headers": [(b"idempotency-key", b"raw-1")]}

    async def run() -> None:
        queue = list(body_messages)

        async def receive() -> dict[str, Any]:
            return queue.pop(0) if queue else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)

    asyncio.run(run())
    return sent


def test_a_client_gone_while_its_body_was_read_takes_no_key() -> None:
    runs: list[str] = []
    app = IdempotencyMiddleware(_raw_app(runs), Idempotency(MemoryStore()))
    _call(
        app, body_messages=[{"type": "http.request", "body": b"half", "more_body": True}, {"type": "http.disconnect"}]
    )
    whole = [{"type": "http.request", "body": b"half and the rest", "more_body": False}]
    _call(app, body_messages=whole)
    again = _call(app, body_messages=whole)
    assert runs == ["run", "run"]  # the whole request ran (no 422 from a key taken for half a body)...
    assert dict(again[0]["headers"])[b"idempotent-replayed"] == b"true"  # ...and its retry is the replay


def test_a_zero_copy_response_is_not_kept() -> None:
    runs: list[str] = []
    app = IdempotencyMiddleware(
        _raw_app(runs, {"type": "http.response.pathsend", "path": "/etc/hostname"}), Idempotency(MemoryStore())
    )
    whole = [{"type": "http.request", "body": b"", "more_body": False}]
    _call(app, body_messages=whole)
    _call(app, body_messages=whole)
    assert runs == ["run", "run"]  # never replayed with an empty body


def test_a_cancelled_request_releases_its_key_in_redis(redis_server: RedisServer) -> None:
    runs: list[str] = []

    async def hangs(scope: Any, receive: Any, send: Any) -> None:
        runs.append("run")
        await asyncio.sleep(30)

    keys = Idempotency(AsyncRedisStore(redis_server.url), prefix="edge:cancel:")
    app = IdempotencyMiddleware(hangs, keys)
    scope = {"type": "http", "method": "POST", "path": "/raw", "headers": [(b"idempotency-key", b"cancel-1")]}

    async def run() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        with anyio.move_on_after(0.2):  # cancelled as a server's task group cancels a request
            await app(scope, receive, send)
        await asyncio.sleep(0.2)  # (the release runs in a task of its own)
        keyed = KeyedRequest("POST", "/raw", "", None, b"", ["cancel-1"])
        assert type(await keys.astart(keyed)).__name__ == "Attempt"  # the key was released
        await keys.store.aclose()

    asyncio.run(run())
    assert runs == ["run"]


def test_raised_4xx_are_kept_by_the_decorators(django_runs: list[str]) -> None:
    app = Flask(__name__)
    BackendKit(app)
    runs: list[str] = []

    @app.post("/gone")
    @idempotent(Idempotency(MemoryStore()))
    def gone() -> Any:
        runs.append("gone")
        abort(404)

    client = app.test_client()
    first, again = (client.post("/gone", headers=KEY) for _ in range(2))
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (404, 404, "true")
    assert runs == ["gone"]
    django = Client()
    dfirst, dagain = (django.post("/missing", headers=KEY) for _ in range(2))
    assert (dfirst.status_code, dagain.status_code, dagain["Idempotent-Replayed"]) == (404, 404, "true")
    assert django_runs == ["missing"]


def test_one_start_per_request_with_the_hooks_and_a_decorator() -> None:
    keys = Idempotency(MemoryStore())
    app = Flask(__name__)
    BackendKit(app)
    idempotent_every_request(app, keys)
    runs: list[str] = []

    @app.post("/both")
    @idempotent(keys)
    def both() -> Any:
        runs.append("both")
        return jsonify(ok=True), 201

    client = app.test_client()
    first, again = (client.post("/both", headers=KEY) for _ in range(2))
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert runs == ["both"]


def test_the_django_middleware_and_a_decorator_start_once(django_runs: list[str]) -> None:
    middleware = ["backendkit.django.ErrorMiddleware", "backendkit.django.idempotency.IdempotencyMiddleware"]
    with override_settings(MIDDLEWARE=middleware, BACKENDKIT={"IDEMPOTENCY": "tests.idempotency.django_urls.keys"}):
        client = Client()
        first, again = (client.post("/pay", "{}", content_type="application/json", headers=KEY) for _ in range(2))
    assert (first.status_code, again.status_code, again.content) == (201, 201, first.content)
    assert django_runs == ["sync"]


def test_a_204_is_replayed_as_a_204(django_runs: list[str]) -> None:
    app = FastAPI()
    install(app)
    keys = IdempotentRoutes(app, Idempotency(MemoryStore()))

    # response_model=None: FastAPI 0.110 takes the postponed annotation "None" for a body to send.
    @app.post("/nothing", status_code=204, dependencies=[keys.depends()], response_model=None)
    def nothing() -> None:
        return None

    with TestClient(app) as client:
        _, again = (client.post("/nothing", headers=KEY) for _ in range(2))
    assert (again.status_code, again.headers["idempotent-replayed"]) == (204, "true")
    assert "content-length" not in again.headers
    django = Client()
    dfirst, dagain = (django.post("/empty", headers=KEY) for _ in range(2))
    assert (dagain.status_code, dagain["Idempotent-Replayed"]) == (204, "true")
    assert not dfirst.has_header("Content-Type")
    assert not dagain.has_header("Content-Type")
