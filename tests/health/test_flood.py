"""A flood of 1,000 concurrent probes costs the dependency at most one check run per cache interval.

The one readiness check increments a counter in the test's redis-server (``INCR``),
so the runs are counted where they cost something. The probes cross real sockets to
a real uvicorn: 1,000 clients at once, each probing again and again for a few
intervals. The check dawdles a little after its ``INCR`` so that many probes arrive
while a run is in flight: they must share it rather than start their own.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
from fastapi import FastAPI
from flask import Flask

from backendkit.fastapi import install
from backendkit.fastapi.health import health_routes as fastapi_health_routes
from backendkit.flask import BackendKit
from backendkit.flask.health import health_routes as flask_health_routes
from backendkit.health import MEDIA_TYPE, Health, Result
from tests.support.net import request
from tests.support.redis import RedisServer
from tests.support.servers import uvicorn_server, waitress_server

pytestmark = [pytest.mark.redis, pytest.mark.socket]

PROBES = 1000
INTERVAL = 0.5
FLOOD = 4 * INTERVAL  # seconds the clients keep probing
IN_FLIGHT = 0.05  # seconds each run takes after its INCR
# The check's timeout, its client's and the run's deadline: far above what a run takes, since what is counted
# is how many runs there are, and on a loaded machine (CI runs beside other work) a run in a flood of 1,000
# clients on two cores has taken over a second, which a 1 s timeout turned into a "fail" report.
LOADED = 10.0


@pytest.fixture
def counter(redis_server: RedisServer) -> Iterator[tuple[str, Callable[[], int]]]:
    """A fresh key on the test redis-server, and how to read how many runs incremented it."""
    key = f"backendkit:test:health-flood:{uuid.uuid4().hex}"
    reader = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        yield key, lambda: int(reader.get(key) or 0)
    finally:
        reader.delete(key)
        reader.close()


def _app(health: Health) -> FastAPI:
    app = FastAPI()
    install(app)
    app.include_router(fastapi_health_routes(health))
    return app


async def _probes(port: int, until: float) -> list[tuple[int, bytes, bytes]]:
    """One client: ``GET /readyz`` on one kept-alive connection, again and again until ``until``.

    A few lines of HTTP/1.1 over asyncio streams: a full client library costs ten times
    more per request, and the point is to keep the server busy, not the client.
    """
    replies: list[tuple[int, bytes, bytes]] = []
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: probe\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
            body = await reader.readexactly(int(headers["content-length"]))
            replies.append((int(lines[0].split(" ")[1]), headers["content-type"].encode(), body))
            if time.monotonic() >= until:
                return replies
    finally:
        writer.close()
        await writer.wait_closed()


async def _flood(port: int) -> tuple[list[tuple[int, bytes, bytes]], float]:
    """``PROBES`` clients at once, each probing until ``FLOOD`` seconds have passed."""
    started = time.monotonic()
    # Every client finishes (and closes its socket) before the flood is judged, even when one fails.
    per_client = await asyncio.gather(*(_probes(port, started + FLOOD) for _ in range(PROBES)), return_exceptions=True)
    failed = [error for error in per_client if isinstance(error, BaseException)]
    assert not failed, f"{len(failed)} clients failed, the first with {failed[0]!r}"
    done = [replies for replies in per_client if not isinstance(replies, BaseException)]
    return [reply for replies in done for reply in replies], time.monotonic() - started


def _assert_flood_cost(port: int, runs: Callable[[], int]) -> dict[str, Any]:
    replies, elapsed = asyncio.run(_flood(port))
    assert len(replies) >= PROBES
    assert set(replies) == {(200, MEDIA_TYPE.encode(), b'{"status":"pass"}')}
    counted = runs()
    intervals = math.ceil(elapsed / INTERVAL)
    assert 1 <= counted <= intervals + 1, f"{counted} runs for {PROBES} probes in {elapsed:.2f}s"
    # Once the cached report is older than the interval, the next probe runs the check again, once.
    time.sleep(INTERVAL + 0.05)
    assert request(port, "GET", "/readyz").status == 200
    assert runs() == counted + 1
    return {"probes": len(replies), "seconds": round(elapsed, 2), "runs": counted, "intervals": intervals}


def test_async_check_runs_at_most_once_per_interval(
    redis_server: RedisServer, counter: tuple[str, Callable[[], int]]
) -> None:
    key, runs = counter
    client = redis.asyncio.Redis.from_url(redis_server.url, socket_timeout=LOADED)

    async def counted() -> Result:
        value = await client.incr(key)
        await asyncio.sleep(IN_FLIGHT)
        return Result.ok(value, "runs")

    health = Health(interval=INTERVAL, deadline=LOADED)
    health.add("redis:runs", counted, timeout=LOADED, component_type="datastore")
    app = _app(health)

    @app.post("/test/close-redis")
    async def close_redis() -> None:  # on the server's loop, where the client's connections live
        await client.aclose()

    with uvicorn_server(app) as port:
        try:
            measured = _assert_flood_cost(port, runs)
        finally:
            assert request(port, "POST", "/test/close-redis").status == 200
    print(f"async check: {measured}")


def _sync_counted(url: str, key: str) -> tuple[Health, redis.Redis]:
    """A health whose one sync check increments ``key`` and dawdles: its runs are counted in Redis."""
    client = redis.Redis.from_url(url, socket_timeout=LOADED)

    def counted() -> Result:
        value = client.incr(key)
        time.sleep(IN_FLIGHT)
        return Result.ok(value, "runs")

    health = Health(interval=INTERVAL, deadline=LOADED)
    health.add("redis:runs", counted, timeout=LOADED, component_type="datastore")
    return health, client


def test_sync_check_on_the_async_stack_runs_at_most_once_per_interval(
    redis_server: RedisServer, counter: tuple[str, Callable[[], int]]
) -> None:
    key, runs = counter
    health, client = _sync_counted(redis_server.url, key)
    try:
        with uvicorn_server(_app(health)) as port:
            measured = _assert_flood_cost(port, runs)
    finally:
        client.close()
    print(f"sync check: {measured}")


def test_sync_check_on_a_wsgi_server_runs_at_most_once_per_interval(
    redis_server: RedisServer, counter: tuple[str, Callable[[], int]]
) -> None:
    # The sync stack: Flask under waitress, whose worker threads share the run in flight
    # (waitress takes 100 connections at a time; the others wait in the listen queue).
    key, runs = counter
    health, client = _sync_counted(redis_server.url, key)
    app = Flask(__name__)
    BackendKit(app)
    app.register_blueprint(flask_health_routes(health))
    try:
        with waitress_server(app) as port:
            measured = _assert_flood_cost(port, runs)
    finally:
        client.close()
    print(f"sync check under waitress: {measured}")
