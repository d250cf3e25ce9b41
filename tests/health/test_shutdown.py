"""Under uvicorn, readiness is 503 from the shutdown signal to the last response; liveness stays 200."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.net import Reply, free_port, request, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.socket
def test_readiness_is_503_between_the_signal_and_the_last_response() -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.health.shutdown_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=30)
        assert request(port, "GET", "/readyz").status == 200
        replies: list[Reply] = []
        slow = threading.Thread(target=lambda: replies.append(request(port, "GET", "/slow")))
        slow.start()
        time.sleep(0.5)  # the slow request is in flight
        os.kill(server.pid, signal.SIGTERM)
        slow.join(10)
        assert replies, "the request in flight was not answered"
        assert replies[0].status == 200
        assert json.loads(replies[0].body) == {"ready": 503, "live": 200}  # drained while the request ran
        # uvicorn ends by re-raising the signal it captured, once its shutdown is complete.
        assert server.wait(10) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        stderr = server.stderr.read().decode() if server.stderr else ""
        if server.stderr:
            server.stderr.close()
    assert "Traceback" not in stderr
