"""Redis stopped mid-run, behind real servers: each failure policy answers as documented, never a 500.

``on_store_error="closed"``: a request with a key is a 503 (``Retry-After: 1``) and its handler
does not run; ``"open"``: it runs without idempotency. Requests without a key are served
either way. When Redis is back, keys work again (once the breaker's retry interval is over: the
test moves the breakers' clock rather than sleeping). Flask under waitress (the sync store)
and FastAPI under uvicorn (the async store).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from flask import Flask, jsonify

from backendkit.fastapi import install
from backendkit.fastapi.idempotency import IdempotentRoutes
from backendkit.flask import BackendKit
from backendkit.flask.idempotency import idempotent
from backendkit.idempotency import Idempotency
from backendkit.idempotency.redis import AsyncRedisStore, RedisStore
from tests.health.probing import Records
from tests.support.net import request
from tests.support.redis import RedisServer, find_redis_server, start_redis
from tests.support.servers import uvicorn_server, waitress_server

pytestmark = [pytest.mark.redis, pytest.mark.socket]


@contextmanager
def flask_app(url: str, runs: list[str], clock: Callable[[], float]) -> Iterator[int]:
    app = Flask(__name__)
    BackendKit(app)
    stores = [RedisStore(url), RedisStore(url)]
    for policy, store in zip(("closed", "open"), stores, strict=True):
        keys = Idempotency(store, on_store_error=policy)  # type: ignore[arg-type]
        keys.breaker.clock = clock

        def create(policy: str = policy) -> tuple[object, int]:
            runs.append(policy)
            return jsonify(run=len(runs)), 201

        app.add_url_rule(f"/{policy}", f"create_{policy}", idempotent(keys)(create), methods=["POST"])
    try:
        with waitress_server(app) as port:
            yield port
    finally:
        for store in stores:  # its connections closed, not left to the garbage collector
            store.close()


def fastapi_app(url: str, runs: list[str], clock: Callable[[], float]) -> Any:
    stores = [AsyncRedisStore(url), AsyncRedisStore(url)]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for store in stores:  # on the server's loop, where its connections live
            await store.aclose()

    app = FastAPI(lifespan=lifespan)
    install(app)
    for policy, store in zip(("closed", "open"), stores, strict=True):
        idempotency = Idempotency(store, on_store_error=policy)  # type: ignore[arg-type]
        idempotency.breaker.clock = clock
        keys = IdempotentRoutes(app, idempotency)

        async def create(policy: str = policy) -> dict[str, int]:
            runs.append(policy)
            return {"run": len(runs)}

        app.add_api_route(f"/{policy}", create, methods=["POST"], status_code=201, dependencies=[keys.depends()])
    return uvicorn_server(app, lifespan="on")


SERVED: dict[str, Callable[[str, list[str], Callable[[], float]], Any]] = {
    "flask-waitress": flask_app,
    "fastapi-uvicorn": fastapi_app,
}


@pytest.mark.parametrize("served", list(SERVED))
def test_each_policy_through_an_outage(served: str, own_redis: RedisServer) -> None:
    runs: list[str] = []
    now = [0.0]  # the breakers' clock
    errors = Records(logging.ERROR)
    logging.getLogger().addHandler(errors)
    try:
        with SERVED[served](own_redis.url, runs, lambda: now[0]) as port:

            def post(path: str, key: str | None) -> Any:
                headers = {"Content-Type": "application/json"} | ({"Idempotency-Key": key} if key else {})
                return request(port, "POST", path, headers=headers, body=b"{}")

            assert [post("/closed", "k1").status, post("/closed", "k1").status] == [201, 201]
            own_redis.stop()
            closed = [post("/closed", "k2") for _ in range(3)]
            opened = [post("/open", "k2") for _ in range(3)]
            unkeyed = post("/closed", None)
            restarted = start_redis(find_redis_server() or "", port=own_redis.port)
            now[0] += 1.0  # the breakers' retry interval is over: the next request tries Redis
            try:
                after = [post("/closed", "k3"), post("/closed", "k3")]
            finally:
                restarted.stop()
    finally:
        logging.getLogger().removeHandler(errors)
    for reply in closed:
        assert (reply.status, reply.headers["retry-after"]) == (503, "1")
        assert json.loads(reply.body)["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert [r.status for r in opened] == [201, 201, 201]  # run each time: no idempotency without Redis
    assert all("idempotent-replayed" not in r.headers for r in opened)
    assert unkeyed.status == 201
    assert [r.status for r in after] == [201, 201], [(r.status, r.body) for r in after]
    assert after[1].headers["idempotent-replayed"] == "true"
    assert runs == ["closed", "open", "open", "open", "closed", "closed"]
    # No exception reached the app, nor a server's error log (the access lines of the 503s aside).
    assert [r.getMessage() for r in errors.records if r.name != "backendkit.access"] == []
