"""The apps of the exactly-once tests, served by real servers in several processes.

``POST /pay`` counts its runs in Redis (``INCR``) and takes a while, so that retries
arrive while it runs. ``POST /hang`` records its process id and, the first time, never
finishes, so that a test can kill the worker holding the key. Configured by ``IDEMPOTENCY_TEST_REDIS``
(the URL) and ``IDEMPOTENCY_TEST_COUNTER`` (the counter's key).
"""

from __future__ import annotations

import asyncio
import os
import time

import redis
import redis.asyncio
from fastapi import FastAPI, Request, Response
from flask import Flask, jsonify

from backendkit.fastapi import install
from backendkit.fastapi.idempotency import IdempotentRoutes
from backendkit.flask import BackendKit
from backendkit.flask.idempotency import idempotent
from backendkit.idempotency import Idempotency
from backendkit.idempotency.redis import AsyncRedisStore, RedisStore

URL = os.environ.get("IDEMPOTENCY_TEST_REDIS", "redis://127.0.0.1:6379/0")
COUNTER = os.environ.get("IDEMPOTENCY_TEST_COUNTER", "idempotency-test:runs")
RUN_TIME = 0.3  # seconds a run takes
LOCK_TTL = 1.0  # seconds a dead worker's key stays taken

flask_app = Flask(__name__)
BackendKit(flask_app)
_sync = redis.Redis.from_url(URL, socket_timeout=2)
_flask_keys = Idempotency(RedisStore(URL), lock_ttl=LOCK_TTL)


@flask_app.after_request
def served_by(response: Response) -> Response:  # type: ignore[type-arg]
    response.headers["X-Served-By"] = str(os.getpid())  # after the key's record is taken: never stored
    return response


@flask_app.post("/pay")
@idempotent(_flask_keys)
def flask_pay() -> tuple[object, int]:
    run = _sync.incr(COUNTER)
    time.sleep(RUN_TIME)
    return jsonify(run=run, pid=os.getpid()), 201


@flask_app.post("/hang")
@idempotent(_flask_keys)
def flask_hang() -> tuple[object, int]:
    run = _sync.rpush(COUNTER + ":hung", os.getpid())
    if run == 1:  # the first run hangs until its worker is killed; a later one answers
        time.sleep(600)
    return jsonify(run=run), 201


fastapi_app = FastAPI()
install(fastapi_app)
_keys = IdempotentRoutes(fastapi_app, Idempotency(AsyncRedisStore(URL), lock_ttl=LOCK_TTL))
_async: dict[int, redis.asyncio.Redis] = {}


@fastapi_app.middleware("http")
async def fastapi_served_by(request: Request, call_next: object) -> Response:
    response: Response = await call_next(request)  # type: ignore[operator]
    response.headers["X-Served-By"] = str(os.getpid())
    return response


@fastapi_app.post("/pay", status_code=201, dependencies=[_keys.depends()])
async def fastapi_pay() -> dict[str, int]:
    client = _async.setdefault(id(asyncio.get_running_loop()), redis.asyncio.Redis.from_url(URL, socket_timeout=2))
    run = await client.incr(COUNTER)
    await asyncio.sleep(RUN_TIME)
    return {"run": run, "pid": os.getpid()}
