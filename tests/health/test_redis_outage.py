"""A real redis-server stopped mid-run under the examples: readiness turns 503 and back, liveness never moves.

The example apps are served by real servers (uvicorn for FastAPI with its async
Redis check, waitress for Flask with its sync one) and probed over sockets while
the test's own redis-server is stopped and restarted on the same port.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

from backendkit.health import RAISED, TIMED_OUT
from examples import _auth, _health, _idempotency, _limits, _sessions
from examples._tasks import TaskStore
from examples.fastapi_app import create_app as create_fastapi_app
from examples.flask_app import create_app as create_flask_app
from tests.health.probing import Records, health_document
from tests.support.logs import LineCatcher
from tests.support.net import free_port, request
from tests.support.redis import RedisServer, redis_binary, start_redis
from tests.support.servers import uvicorn_server, waitress_server

pytestmark = [pytest.mark.redis, pytest.mark.socket]

MARGIN = 1.0  # seconds for the probes themselves on a loaded machine
POLL = 0.05
# The examples' checks of the stores they keep in Redis when BACKENDKIT_EXAMPLE_REDIS_URL is set.
REDIS_CHECKS = (
    "ratelimit:responseTime",
    "revocations:responseTime",
    "idempotency:responseTime",
    "refresh_families:responseTime",
)


class RestartableRedis:
    """A redis-server of the test's own that can be stopped and started again on the same port."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.servers: list[RedisServer] = [start_redis(binary)]

    @property
    def url(self) -> str:
        return self.servers[0].url

    def stop(self) -> None:
        self.servers[-1].stop()

    def restart(self) -> None:
        self.servers.append(start_redis(self.binary, port=self.servers[0].port))

    def close(self) -> None:
        for server in self.servers:
            if server.process.poll() is None:
                server.stop()


@pytest.fixture
def own_redis() -> Iterator[RestartableRedis]:
    server = RestartableRedis(redis_binary())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def logged_errors() -> Iterator[Records]:
    """Errors the servers log (an exception that escaped the app) and the app's own."""
    records = Records()
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "waitress", "")]
    for logger in loggers:
        logger.addHandler(records)
    try:
        yield records
    finally:
        for logger in loggers:
            logger.removeHandler(records)


def _example_timings(monkeypatch: pytest.MonkeyPatch) -> tuple[float, float]:
    """The examples' cache interval and their longest store check timeout, as they configure them."""
    monkeypatch.setenv("BACKENDKIT_EXAMPLE_REDIS_URL", "redis://127.0.0.1:1/0")  # clients that never connect
    verifier, limited = _auth.verifier(asynchronous=True), _limits.limited(asynchronous=True)
    keys = _idempotency.keys(asynchronous=True)  # (async stores: their clients are made on first use)
    issuer = _sessions.issuer(verifier.revocations)
    health = _health.health(
        TaskStore(), limited=limited, verifier=verifier, keys=keys, issuer=issuer, asynchronous=True
    )
    assert issuer.rotator is not None
    issuer.rotator.store.close()  # type: ignore[attr-defined]  (a sync client, which never connected)
    timeouts = {check.name: check.timeout for check in health.checks if check.name in REDIS_CHECKS}
    assert set(timeouts) == set(REDIS_CHECKS)
    return health.interval, max(timeouts.values())


def _probe(port: int) -> int:
    """One liveness probe (it must pass) and one readiness probe (a whole document that agrees with itself)."""
    live = request(port, "GET", "/livez")
    assert live.status == 200, live
    assert health_document(live) == {"status": "pass"}
    ready = request(port, "GET", "/readyz?verbose")
    document = health_document(ready)
    [tasks_entry] = document["checks"]["tasks:count"]
    assert tasks_entry["status"] == "pass", document
    redis_entries = [entry for name in REDIS_CHECKS for entry in document["checks"][name]]
    assert {entry["componentType"] for entry in redis_entries} == {"datastore"}, document
    for entry in redis_entries:
        if entry["status"] == "pass":
            assert entry["observedUnit"] == "ms", document
            assert isinstance(entry["observedValue"], float), document
        else:
            assert entry["status"] == "fail", document
            assert entry["output"] in (RAISED, TIMED_OUT), document  # fixed words, never the exception's
            assert "observedValue" not in entry, document
    passed = [entry["status"] == "pass" for entry in redis_entries]
    # Ready only when every store answers; a report made while Redis stopped may have caught some still passing.
    assert all(passed) if ready.status == 200 else not all(passed), document
    return ready.status


def _until(port: int, status: int, budget: float) -> float:
    """Probe until readiness answers ``status``; the seconds it took (at most ``budget``)."""
    started = time.monotonic()
    while True:
        seen = _probe(port)
        took = time.monotonic() - started
        if seen == status:
            return took
        assert took < budget, f"readiness still {seen} after {took:.2f}s (budget {budget:.2f}s)"
        time.sleep(POLL)


def _holds(port: int, status: int, seconds: float) -> None:
    """Probe for ``seconds``: readiness answers ``status`` every time."""
    end = time.monotonic() + seconds
    probes = 0
    while time.monotonic() < end:
        assert _probe(port) == status
        probes += 1
        time.sleep(POLL)
    assert probes > 3


def _outage(port: int, redis_server: RestartableRedis, interval: float, timeout: float) -> dict[str, float]:
    """Redis up, stopped, restarted on the same port: readiness follows within one interval, liveness stays 200."""
    budget = interval + timeout + MARGIN
    _until(port, 200, budget)
    _holds(port, 200, interval)
    redis_server.stop()
    down = _until(port, 503, budget)
    _holds(port, 503, interval * 1.5)  # and stays down while Redis is away, through cache expiries
    redis_server.restart()
    up = _until(port, 200, budget)
    _holds(port, 200, interval)
    assert health_document(request(port, "GET", "/readyz")) == {"status": "pass"}  # details only on ?verbose
    return {"to 503": round(down, 3), "to 200": round(up, 3)}


def _only_dependency_errors(records: Records) -> None:
    """The only errors logged are the Redis checks', each with the driver's error attached for the operator."""
    assert records.records, "the failing check logged nothing"
    for record in records.records:
        assert record.name == "backendkit.health", record.getMessage()
        assert record.exc_info is not None, record.getMessage()
        assert _driver_error(record.exc_info[1]), record.exc_info


def _driver_error(exc: BaseException | None) -> bool:
    """Whether ``exc`` is redis-py's error for a dead server, or a store's error raised from one.

    A stopped server is most often a refused connection, but on a loaded machine the connect
    can time out first (seen in CI): both are the driver telling the check Redis is gone.
    """
    dead = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
    return isinstance(exc, dead) or isinstance(getattr(exc, "__cause__", None), dead)


class Clients:
    """The Redis clients the examples create, recorded so the test can close them (the examples keep them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sync: list[redis.Redis] = []
        self.asynchronous: list[redis.asyncio.Redis] = []
        for cls, created in ((redis.Redis, self.sync), (redis.asyncio.Redis, self.asynchronous)):
            monkeypatch.setattr(cls, "from_url", self._recording(cls.from_url, created))

    @staticmethod
    def _recording(from_url: Any, created: list[Any]) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            client = from_url(*args, **kwargs)
            created.append(client)
            return client

        return recorded

    def close_sync(self) -> None:
        for client in self.sync:
            client.close()


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Clients:
    return Clients(monkeypatch)


def _fastapi_app(clients: Clients) -> Any:
    app = create_fastapi_app()

    @app.post("/test/close-redis")
    async def close_redis() -> None:  # on the server's loop, where the client's connections live
        for client in clients.asynchronous:
            await client.aclose()

    return app


def test_fastapi_readiness_follows_redis_under_uvicorn(
    monkeypatch: pytest.MonkeyPatch, own_redis: RestartableRedis, logged_errors: Records, clients: Clients
) -> None:
    interval, timeout = _example_timings(monkeypatch)
    monkeypatch.setenv("BACKENDKIT_EXAMPLE_REDIS_URL", own_redis.url)
    monkeypatch.setenv("BACKENDKIT_EXAMPLE_HEALTH_DETAILS", "1")
    made = len(clients.sync)  # (_example_timings made the refresh store's own)
    app = _fastapi_app(clients)
    # Async stores: one client per loop, on first use; the refresh families' store is sync (run in threads).
    assert (len(clients.sync) - made, len(clients.asynchronous)) == (1, 0)
    with uvicorn_server(app) as port:
        try:
            took = _outage(port, own_redis, interval, timeout)
        finally:
            assert request(port, "POST", "/test/close-redis").status == 200
            clients.close_sync()
    print(f"fastapi under uvicorn, interval {interval}s, check timeout {timeout}s: {took}")
    _only_dependency_errors(logged_errors)


def test_flask_readiness_follows_redis_under_waitress(
    monkeypatch: pytest.MonkeyPatch, own_redis: RestartableRedis, logged_errors: Records, clients: Clients
) -> None:
    interval, timeout = _example_timings(monkeypatch)
    monkeypatch.setenv("BACKENDKIT_EXAMPLE_REDIS_URL", own_redis.url)
    monkeypatch.setenv("BACKENDKIT_EXAMPLE_HEALTH_DETAILS", "1")
    made = len(clients.sync)  # (_example_timings made the refresh store's own)
    app = create_flask_app()
    assert len(clients.sync) - made == 4  # the rate limit's, the revocation list's, the idempotency and refresh stores'

    try:
        with waitress_server(app) as port:
            took = _outage(port, own_redis, interval, timeout)
    finally:
        clients.close_sync()
    print(f"flask under waitress, interval {interval}s, check timeout {timeout}s: {took}")
    _only_dependency_errors(logged_errors)


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_the_check_error_goes_to_the_log_with_the_request_id(
    framework: str, monkeypatch: pytest.MonkeyPatch, clients: Clients, log_lines: LineCatcher
) -> None:
    monkeypatch.setenv("BACKENDKIT_EXAMPLE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nobody listens
    serve = uvicorn_server(_fastapi_app(clients)) if framework == "fastapi" else waitress_server(create_flask_app())
    try:
        with serve as port:
            reply = request(port, "GET", "/readyz")
            if framework == "fastapi":
                assert request(port, "POST", "/test/close-redis").status == 200
    finally:
        clients.close_sync()
    assert reply.status == 503
    assert health_document(reply) == {"status": "fail"}
    lines = [line for line in log_lines.lines if line["logger"] == "backendkit.health"]
    assert sorted(line["message"] for line in lines) == [f"health check {name} raised" for name in sorted(REDIS_CHECKS)]
    for line in lines:
        assert "redis.exceptions.ConnectionError" in line["exception"]["stack"], line  # raised, or the cause
        assert line.get("request_id") == reply.headers["x-request-id"]
