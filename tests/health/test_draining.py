"""Draining: readiness answers 503 from ``drain()`` (or the shutdown signal) on, while liveness stays 200.

Under real servers: ``Health.drain()`` called by the test while uvicorn or waitress
serves the app, and the FastAPI example under uvicorn in a subprocess sent SIGTERM
while a request is in flight.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from backendkit.health import MEDIA_TYPE, Health
from tests.health.probing import health_document
from tests.support.net import Reply, free_port, request, wait_for_port
from tests.support.servers import uvicorn_server, waitress_server

pytestmark = pytest.mark.socket

ROOT = Path(__file__).resolve().parents[2]


def _fastapi(health: Health) -> AbstractContextManager[int]:
    from fastapi import FastAPI

    from backendkit.fastapi import install
    from backendkit.fastapi.health import health_routes

    app = FastAPI()
    install(app)
    app.include_router(health_routes(health))
    return uvicorn_server(app)


def _flask(health: Health) -> AbstractContextManager[int]:
    from flask import Flask

    from backendkit.flask import BackendKit
    from backendkit.flask.health import health_routes

    app = Flask(__name__)
    BackendKit(app)
    app.register_blueprint(health_routes(health))
    return waitress_server(app)


@pytest.mark.parametrize("serve", [_fastapi, _flask], ids=["fastapi-uvicorn", "flask-waitress"])
def test_drain_turns_readiness_503_at_once_and_leaves_liveness_alone(
    serve: Callable[[Health], AbstractContextManager[int]],
) -> None:
    health = Health(interval=60, verbose=True)  # a passing report cached for longer than the test
    health.add("db:ping", lambda: True)
    with serve(health) as port:
        ready = health_document(request(port, "GET", "/readyz"))
        assert ready["status"] == "pass"
        assert ready["checks"]["db:ping"][0]["status"] == "pass"
        health.drain()
        for _ in range(3):
            drained = request(port, "GET", "/readyz")
            assert drained.status == 503
            document = health_document(drained)
            assert document["status"] == "fail"
            assert any(note.startswith("draining") for note in document["notes"])
            for path in ("/livez", "/healthz"):
                assert health_document(request(port, "GET", path)) == {"status": "pass", "checks": {}}


def test_sigterm_drains_the_fastapi_example_while_a_request_is_in_flight() -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("BACKENDKIT_EXAMPLE_")}
    args = ["-m", "uvicorn", "tests.health.slow_example_app:app", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=30)
        assert health_document(request(port, "GET", "/readyz")) == {"status": "pass"}
        replies: list[Reply] = []
        slow = threading.Thread(target=lambda: replies.append(request(port, "GET", "/test/slow")))
        slow.start()
        time.sleep(0.5)  # the slow request is in flight
        signalled = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        slow.join(10)
        assert replies, "the request in flight was not answered"
        assert replies[0].status == 200
        answered: dict[str, Any] = json.loads(replies[0].body)
        assert answered == {
            "ready": [503, MEDIA_TYPE, {"status": "fail"}],
            "live": [200, MEDIA_TYPE, {"status": "pass"}],
        }
        assert time.monotonic() - signalled < 5
        # uvicorn re-raises the signal it captured once its shutdown is complete.
        assert server.wait(10) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        stderr = server.stderr.read().decode() if server.stderr else ""
        if server.stderr:
            server.stderr.close()
    assert "Traceback" not in stderr, stderr
