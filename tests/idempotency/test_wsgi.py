"""Idempotency keys on Flask (decorator and app-wide hooks) and Django (decorator, sync and async, and middleware)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from django.test import AsyncClient, Client, override_settings
from flask import Flask, jsonify

from backendkit.errors import ConfigurationError, Conflict
from backendkit.flask import BackendKit
from backendkit.flask.idempotency import idempotent, idempotent_every_request
from backendkit.idempotency import Idempotency, MemoryStore
from tests.idempotency import django_urls

KEY = {"Idempotency-Key": "key-1"}


def flask_app() -> tuple[Flask, list[str]]:
    app = Flask(__name__)
    BackendKit(app)
    keys = Idempotency(MemoryStore())
    runs: list[str] = []

    @app.post("/pay")
    @idempotent(keys)
    def pay() -> tuple[object, int]:
        runs.append("pay")
        return jsonify(run=len(runs)), 201

    @app.post("/taken")
    @idempotent(keys)
    def taken() -> None:
        runs.append("taken")
        raise Conflict("Taken.")

    @app.post("/strict")
    @idempotent(keys, required=True)
    def strict() -> tuple[object, int]:
        runs.append("strict")
        return jsonify(), 201

    return app, runs


def test_flask_replays_and_refuses_in_the_envelope() -> None:
    app, runs = flask_app()
    client = app.test_client()
    first = client.post("/pay", json={"eur": 5}, headers=KEY)
    again = client.post("/pay", json={"eur": 5}, headers={"Idempotency-Key": '"key-1"'})
    other = client.post("/pay", json={"eur": 6}, headers=KEY)
    bad = client.post("/pay", json={"eur": 6}, headers={"Idempotency-Key": ""})
    missing = client.post("/strict")
    assert (first.status_code, first.json) == (201, {"run": 1})
    assert (again.status_code, again.data, again.headers["Idempotent-Replayed"]) == (201, first.data, "true")
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert (other.status_code, other.json["error"]["code"]) == (422, "IDEMPOTENCY_KEY_MISMATCH")
    assert (bad.status_code, bad.json["error"]["code"]) == (400, "IDEMPOTENCY_KEY_INVALID")
    assert (missing.status_code, missing.json["error"]["code"]) == (400, "IDEMPOTENCY_KEY_MISSING")
    assert runs == ["pay"]


def test_flask_keeps_an_error_the_view_raised_as_it_was_sent() -> None:
    app, runs = flask_app()
    client = app.test_client()
    first = client.post("/taken", headers=KEY)
    again = client.post("/taken", headers=KEY)
    assert (first.status_code, first.json["error"]["code"]) == (409, "CONFLICT")
    assert (again.status_code, again.data, again.headers["Idempotent-Replayed"]) == (409, first.data, "true")
    assert runs == ["taken"]


def test_flask_app_wide_hooks() -> None:
    app = Flask(__name__)
    BackendKit(app)
    idempotent_every_request(app, Idempotency(MemoryStore()))
    runs: list[int] = []

    @app.post("/things/<int:n>")
    def things(n: int) -> tuple[object, int]:
        runs.append(n)
        return jsonify(n=n), 201

    @app.post("/boom")
    def boom() -> None:
        runs.append(-1)
        raise RuntimeError("a bug")

    client = app.test_client()
    answers = [client.post("/things/1", headers=KEY) for _ in range(2)]
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true"]
    assert client.post("/things/2", headers=KEY).status_code == 201  # another path: another key
    assert [client.post("/boom", headers=KEY).status_code for _ in range(2)] == [500, 500]  # 5xx not kept
    assert runs == [1, 2, -1, -1]


def test_flask_needs_a_sync_store() -> None:
    from backendkit.idempotency.redis import AsyncRedisStore

    with pytest.raises(ConfigurationError):
        idempotent(Idempotency(AsyncRedisStore("redis://127.0.0.1:1/0")))


@pytest.fixture
def django_runs() -> Iterator[list[str]]:
    django_urls.runs.clear()
    with override_settings(ROOT_URLCONF="tests.idempotency.django_urls"):
        yield django_urls.runs


def test_django_sync_and_async_views(django_runs: list[str]) -> None:
    client = Client()
    body = json.dumps({"eur": 5})
    first = client.post("/pay", body, content_type="application/json", headers=KEY)
    again = client.post("/pay", body, content_type="application/json", headers={"Idempotency-Key": '"key-1"'})
    other = client.post("/pay", json.dumps({"eur": 6}), content_type="application/json", headers=KEY)
    assert (first.status_code, again.status_code, again.content) == (201, 201, first.content)
    assert again["Idempotent-Replayed"] == "true"
    assert (other.status_code, json.loads(other.content)["error"]["code"]) == (422, "IDEMPOTENCY_KEY_MISMATCH")

    async def twice() -> list[object]:
        aclient = AsyncClient()
        return [await aclient.post("/apay", {}, content_type="application/json", headers=KEY) for _ in range(2)]

    afirst, aagain = asyncio.run(twice())
    assert (afirst.status_code, aagain.content, aagain["Idempotent-Replayed"]) == (201, afirst.content, "true")  # type: ignore[attr-defined]
    assert django_runs == ["sync", "async"]


def test_django_keeps_a_raised_error_and_requires_keys_where_told(django_runs: list[str]) -> None:
    client = Client()
    first, again = (client.post("/taken", headers=KEY) for _ in range(2))
    assert (first.status_code, again.status_code, again.content) == (409, 409, first.content)
    assert again["Idempotent-Replayed"] == "true"
    missing = client.post("/strict")
    assert (missing.status_code, json.loads(missing.content)["error"]["code"]) == (400, "IDEMPOTENCY_KEY_MISSING")
    assert django_runs == ["taken"]


def test_django_middleware(django_runs: list[str]) -> None:
    middleware = [
        "backendkit.django.ErrorMiddleware",
        "backendkit.django.idempotency.IdempotencyMiddleware",
    ]
    config = {"IDEMPOTENCY": "tests.idempotency.django_urls.middleware_keys"}
    with override_settings(MIDDLEWARE=middleware, BACKENDKIT=config):
        client = Client()
        first, again = (client.post("/plain/1", headers=KEY) for _ in range(2))
        other_route = client.post("/plain/2", headers=KEY)
        bad = client.post("/plain/1", headers={"Idempotency-Key": "a b"})

        async def on_asgi() -> object:
            return await AsyncClient().post("/plain/1", headers=KEY)

        async_again = asyncio.run(on_asgi())
    assert (first.status_code, again.content, again["Idempotent-Replayed"]) == (201, first.content, "true")
    assert (async_again.status_code, async_again.content) == (201, first.content)  # type: ignore[attr-defined]
    assert other_route.status_code == 201
    assert (bad.status_code, json.loads(bad.content)["error"]["code"]) == (400, "IDEMPOTENCY_KEY_INVALID")
    assert django_runs == ["plain", "plain"]
