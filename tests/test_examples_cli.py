"""``python -m examples.<app> --port N`` serves each example on a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port, request, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.socket
@pytest.mark.parametrize("module", ["examples.fastapi_app", "examples.flask_app", "examples.django_app"])
def test_example_serves_on_the_given_port(module: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=30)
        health = request(port, "GET", "/healthz")
        assert (health.status, json.loads(health.body)) == (200, {"status": "pass"})
        created = request(
            port, "POST", "/tasks", body=b'{"title": "from the CLI"}', headers={"Content-Type": "application/json"}
        )
        assert created.status == 201
        missing = request(port, "GET", "/nope", headers={"X-Request-ID": "cli-1"})
        assert missing.status == 404
        assert missing.headers["x-request-id"] == "cli-1"
        assert json.loads(missing.body)["error"]["code"] == "NOT_FOUND"
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    assert b"Traceback" not in stderr
