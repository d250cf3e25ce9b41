"""A Prometheus server of the tests' own (Debian's ``prometheus``), and ``promtool``, on free loopback ports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.net import free_port
from tests.support.servers import stop_process

MISSING = "is not on PATH (install Debian's prometheus package: apt-get install prometheus)"


def binary(name: str) -> str:
    """``prometheus`` or ``promtool``; the test skips without it, or fails when BACKENDKIT_REQUIRE_PROMETHEUS is set."""
    import pytest

    found = shutil.which(name)
    if found is None:
        message = f"{name} {MISSING}"
        if os.environ.get("BACKENDKIT_REQUIRE_PROMETHEUS", "") not in ("", "0"):
            pytest.fail(f"BACKENDKIT_REQUIRE_PROMETHEUS is set but {message}")
        pytest.skip(message)
    return found


def promtool_check_metrics(body: bytes) -> subprocess.CompletedProcess[str]:
    """``promtool check metrics`` on a scrape's body (the text format: promtool parses no other)."""
    return subprocess.run(
        [binary("promtool"), "check", "metrics"], input=body.decode(), capture_output=True, text=True, timeout=30
    )


@dataclass
class Prometheus:
    port: int
    process: subprocess.Popen[bytes]
    workdir: str

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector ``promql`` gives now, through the HTTP API (``/api/v1/query``)."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as reply:
            answer = json.loads(reply.read())
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def by(self, promql: str, *labels: str) -> dict[tuple[str, ...], float]:
        """``promql``'s series as {label values: value}."""
        return {tuple(s["metric"].get(n, "") for n in labels): float(s["value"][1]) for s in self.query(promql)}

    def stop(self) -> None:
        stop_process(self.process, timeout=15)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_prometheus(target: int, *, timeout: float = 30.0) -> Prometheus:
    """Prometheus scraping ``127.0.0.1:target`` (job ``app``) every second, its storage in a temporary directory."""
    workdir = tempfile.mkdtemp(prefix="backendkit-prometheus-")
    config = Path(workdir) / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: app\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n"
    )
    port = free_port()
    args = [
        binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir}/data",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    log = open(Path(workdir) / "log", "wb")  # noqa: SIM115 (the process writes to it until it stops)
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    server = Prometheus(port, process, workdir)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            text = (Path(workdir) / "log").read_text(errors="replace")
            server.stop()
            raise RuntimeError(f"prometheus did not become ready: {text}")
        time.sleep(0.1)
