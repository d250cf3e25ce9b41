"""Idempotency keys on FastAPI (the route dependency) and on any ASGI app (the app-wide middleware)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from backendkit.asgi.idempotency import IdempotencyMiddleware
from backendkit.errors import ConfigurationError
from backendkit.fastapi import install
from backendkit.fastapi.idempotency import IdempotentRoutes
from backendkit.idempotency import Idempotency, MemoryStore
from tests.support.net import request
from tests.support.servers import uvicorn_server


class Payment(BaseModel):
    eur: int


def fastapi_app(**options: Any) -> tuple[FastAPI, list[int], threading.Event, threading.Event]:
    app = FastAPI()
    install(app)
    keys = IdempotentRoutes(app, Idempotency(MemoryStore(), **options))
    runs: list[int] = []
    entered, gate = threading.Event(), threading.Event()
    gate.set()

    @app.post("/payments", status_code=201, dependencies=[keys.depends()])
    async def pay(payment: Payment) -> dict[str, int]:
        runs.append(payment.eur)
        entered.set()
        await asyncio.to_thread(gate.wait, 10)
        return {"id": len(runs), "eur": payment.eur}

    @app.post("/strict", status_code=201, dependencies=[keys.depends(required=True)])
    async def strict() -> dict[str, bool]:
        runs.append(0)
        return {"ok": True}

    @app.post("/stream", dependencies=[keys.depends()])
    async def stream() -> StreamingResponse:
        runs.append(-1)

        async def parts() -> AsyncIterator[bytes]:
            yield b"a"
            yield b"b"

        return StreamingResponse(parts())

    @app.post("/plain")
    async def plain() -> dict[str, int]:  # no dependency: a key means nothing here
        runs.append(-2)
        return {"n": len(runs)}

    return app, runs, entered, gate


def test_a_retry_is_replayed_and_the_handler_runs_once() -> None:
    app, runs, _, _ = fastapi_app()
    with TestClient(app) as client:
        first = client.post("/payments", json={"eur": 5}, headers={"Idempotency-Key": "pay-1"})
        again = client.post("/payments", json={"eur": 5}, headers={"Idempotency-Key": '"pay-1"'})
    assert (first.status_code, first.json()) == (201, {"id": 1, "eur": 5})
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]  # the retry's own id
    assert runs == [5]


def test_refusals_are_in_the_envelope() -> None:
    app, runs, _, _ = fastapi_app()
    with TestClient(app) as client:
        client.post("/payments", json={"eur": 5}, headers={"Idempotency-Key": "pay-2"})
        mismatch = client.post("/payments", json={"eur": 6}, headers={"Idempotency-Key": "pay-2"})
        invalid = client.post("/payments", json={"eur": 6}, headers={"Idempotency-Key": "not ok"})
        missing = client.post("/strict", headers={})
        unkeyed = client.post("/payments", json={"eur": 7})
    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (422, "IDEMPOTENCY_KEY_MISMATCH")
    assert (invalid.status_code, invalid.json()["error"]["code"]) == (400, "IDEMPOTENCY_KEY_INVALID")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "IDEMPOTENCY_KEY_MISSING")
    assert unkeyed.status_code == 201
    assert runs == [5, 7]


def test_a_validation_failure_is_not_kept_so_the_fixed_request_can_use_the_key() -> None:
    app, runs, _, _ = fastapi_app()
    with TestClient(app) as client:
        broken = client.post("/payments", json={"eur": "five"}, headers={"Idempotency-Key": "pay-3"})
        fixed = client.post("/payments", json={"eur": 5}, headers={"Idempotency-Key": "pay-3"})
    assert broken.status_code == 422
    assert fixed.status_code == 201
    assert runs == [5]


def test_a_streamed_response_is_not_kept() -> None:
    app, runs, _, _ = fastapi_app()
    with TestClient(app) as client:
        answers = [client.post("/stream", headers={"Idempotency-Key": "s-1"}) for _ in range(2)]
    assert [a.content for a in answers] == [b"ab", b"ab"]
    assert "idempotent-replayed" not in answers[1].headers
    assert runs == [-1, -1]


def test_a_route_without_the_dependency_ignores_keys() -> None:
    app, _, _, _ = fastapi_app()
    with TestClient(app) as client:
        answers = [client.post("/plain", headers={"Idempotency-Key": "p-1"}).json() for _ in range(2)]
    assert answers == [{"n": 1}, {"n": 2}]


def test_the_same_key_in_flight_is_a_409_over_a_real_socket() -> None:
    app, runs, entered, gate = fastapi_app()
    gate.clear()
    replies: list[Any] = []
    body = json.dumps({"eur": 9}).encode()
    headers = {"Idempotency-Key": "pay-9", "Content-Type": "application/json"}
    with uvicorn_server(app) as port:
        first = threading.Thread(
            target=lambda: replies.append(request(port, "POST", "/payments", headers=headers, body=body))
        )
        first.start()
        assert entered.wait(10)
        busy = request(port, "POST", "/payments", headers=headers, body=body)
        gate.set()
        first.join(10)
        retry = request(port, "POST", "/payments", headers=headers, body=body)
    assert (busy.status, json.loads(busy.body)["error"]["code"], busy.headers["retry-after"]) == (
        409,
        "IDEMPOTENCY_KEY_IN_USE",
        "1",
    )
    assert replies[0].status == 201
    assert (retry.status, retry.body, retry.headers["idempotent-replayed"]) == (201, replies[0].body, "true")
    assert runs == [9]


def test_the_openapi_document_has_the_header_and_the_statuses() -> None:
    app, _, _, _ = fastapi_app()
    operation = app.openapi()["paths"]["/payments"]["post"]
    [header] = [p for p in operation["parameters"] if p["in"] == "header"]
    assert (header["name"], header.get("required", False)) == ("Idempotency-Key", False)
    assert {"201", "400", "409", "422"} <= set(operation["responses"])
    assert "503" not in operation["responses"]  # a memory store never fails
    assert "Idempotency-Key" not in json.dumps(app.openapi()["paths"]["/plain"])
    strict = app.openapi()["paths"]["/strict"]["post"]  # depends(required=True): a 400 without it
    [required] = [p for p in strict["parameters"] if p["in"] == "header"]
    assert (required["name"], required["required"]) == ("Idempotency-Key", True)
    assert "422" in strict["responses"]  # no body to validate, but a reused key is still a 422


def test_the_dependency_without_its_middleware_is_a_configuration_error() -> None:
    from backendkit.asgi.idempotency import slot_of

    with pytest.raises(ConfigurationError, match="IdempotencyMiddleware"):
        slot_of({})


def starlette_app(idempotency: Idempotency) -> tuple[Any, list[int]]:
    runs: list[int] = []

    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        runs.append(body["n"])
        return JSONResponse({"n": body["n"], "run": len(runs)}, status_code=201, headers={"Set-Cookie": "s=1"})

    app = Starlette(routes=[Route("/things", create, methods=["POST"])])
    return IdempotencyMiddleware(app, idempotency), runs


def test_the_app_wide_middleware_on_its_own() -> None:
    app, runs = starlette_app(Idempotency(MemoryStore()))
    with TestClient(app) as client:
        first = client.post("/things", json={"n": 1}, headers={"Idempotency-Key": "t-1"})
        again = client.post("/things", json={"n": 1}, headers={"Idempotency-Key": "t-1"})
        mismatch = client.post("/things", json={"n": 2}, headers={"Idempotency-Key": "t-1"})
        other_client = client.post("/things", json={"n": 1}, headers={"Idempotency-Key": "t-1", "X-API-Key": "k"})
    assert (again.status_code, again.content, again.headers["idempotent-replayed"]) == (201, first.content, "true")
    assert "set-cookie" in first.headers
    assert "set-cookie" not in again.headers  # a replay hands out no one's cookie
    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (422, "IDEMPOTENCY_KEY_MISMATCH")
    assert other_client.status_code == 201  # another API key's holder: another scope
    assert runs == [1, 1]


def test_the_app_wide_middleware_can_require_a_key() -> None:
    app, runs = starlette_app(Idempotency(MemoryStore(), required=True))
    with TestClient(app) as client:
        missing = client.post("/things", json={"n": 1})
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "IDEMPOTENCY_KEY_MISSING")
    assert runs == []


def test_a_sync_store_is_accepted_on_asgi() -> None:
    from backendkit.idempotency.redis import RedisStore

    # It runs in a worker thread (issue 20, decision 4; tests/adapters/test_store_kinds.py).
    IdempotencyMiddleware(Starlette(), Idempotency(RedisStore("redis://127.0.0.1:1/0")))
