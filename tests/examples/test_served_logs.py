"""Every example, under every server the docs name, logs nothing but JSON lines, from the first.

Each example is started as a real process, with the documented command: ``python -m``,
gunicorn with ``examples/gunicorn_conf.py`` (sync workers; uvicorn's worker for FastAPI),
and ``uvicorn --workers 2 --log-config examples/uvicorn_log.json``. Its Redis points at a
port where nothing listens, so ``/readyz`` fails its store checks and logs their
exceptions: real tracebacks, written while a request is handled. Whatever the process
writes on standard output and error, from its first line to its last after SIGTERM, must
be JSON; the server's own lines must be there (not silenced); each request has one
access line, with its request id; a traceback is inside one line.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from typing import Any

import pytest

from tests.examples.serving import (
    APPS,
    PY,
    UVICORN_WORKER,
    example_env,
    gunicorn,
    json_lines,
    python_m,
    uvicorn_workers,
)
from tests.support.net import free_port, request
from tests.support.servers import ROOT, logged_process

pytestmark = pytest.mark.socket

# server -> (its command, the lines it must have written itself: (logger, start of the message, how many))
Expected = list[tuple[str, str, int]]
UVICORN_ALONE: Expected = [("uvicorn.error", "Started server process", 1), ("uvicorn.error", "Finished server", 1)]
GUNICORN: Expected = [
    ("gunicorn.error", "Starting gunicorn", 1),
    ("gunicorn.error", "Booting worker with pid", 2),
    ("gunicorn.error", "Shutting down: Master", 1),
]
UVICORN_WORKERS: Expected = [
    ("uvicorn.error", "Started parent process", 1),
    ("uvicorn.error", "Started server process", 2),
    ("uvicorn.error", "Stopping parent process", 1),
]
SERVERS: dict[str, tuple[Any, Expected]] = {
    "fastapi-python-m": (lambda port: python_m("examples.fastapi_app", port), UVICORN_ALONE),
    "flask-python-m": (lambda port: python_m("examples.flask_app", port), [("waitress", "Serving on http://", 1)]),
    "django-python-m": (lambda port: python_m("examples.django_app", port), UVICORN_ALONE),
    "flask-gunicorn": (lambda port: gunicorn(APPS["flask"], port), GUNICORN),
    "fastapi-gunicorn": (lambda port: gunicorn(APPS["fastapi"], port, worker=UVICORN_WORKER), GUNICORN),
    "django-gunicorn": (lambda port: gunicorn(APPS["django-wsgi"], port), GUNICORN),
    "fastapi-uvicorn-workers": (lambda port: uvicorn_workers(APPS["fastapi"], port), UVICORN_WORKERS),
    "django-uvicorn-workers": (lambda port: uvicorn_workers(APPS["django-asgi"], port), UVICORN_WORKERS),
}
SERVER_ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access")


@pytest.mark.parametrize("server", list(SERVERS))
def test_every_line_is_json_from_the_first(server: str) -> None:
    command, expected = SERVERS[server]
    port = free_port()
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: the readiness checks raise
    with logged_process(command(port), port, env=example_env(BACKENDKIT_EXAMPLE_REDIS_URL=dead_redis)) as output:
        health = request(port, "GET", "/healthz")
        created = request(
            port, "POST", "/tasks", body=b'{"title": "served"}', headers={"Content-Type": "application/json"}
        )
        missing = request(port, "GET", "/nope", headers={"X-Request-ID": "served-404"})
        ready = request(port, "GET", "/readyz", headers={"X-Request-ID": "served-ready"})
    # It serves, on the given port.
    assert (health.status, json.loads(health.body)) == (200, {"status": "pass"})
    assert created.status == 201, created
    assert (missing.status, missing.headers["x-request-id"]) == (404, "served-404")
    assert json.loads(missing.body)["error"]["code"] == "NOT_FOUND"
    assert (ready.status, ready.headers["x-request-id"]) == (503, "served-ready")

    # Nothing but JSON, on either stream, from the first line to the last.
    json_lines(output.stdout)
    lines = json_lines(output.stderr)
    first = lines[0]
    assert first["logger"] in ("examples", "gunicorn.error", "uvicorn.error"), first
    assert any(line["logger"] == "examples" and "JWT_SECRET is not set" in line["message"] for line in lines)
    for logger, start, count in expected:  # the server's own lines are there, as JSON
        found = [line for line in lines if line["logger"] == logger and line["message"].startswith(start)]
        assert len(found) == count, (logger, start, [line["message"] for line in lines])

    # One access line per request, backendkit's, with the request's id; the server's access log is off.
    assert not [line for line in lines if line["logger"] in SERVER_ACCESS_LOGGERS]
    access = [line for line in lines if line["logger"] == "backendkit.access"]
    # (The probes' access lines are at debug level, below the configured INFO.)
    assert sorted(line["message"] for line in access) == ["GET /nope 404", "POST /tasks 201"]
    assert all(line.get("request_id") for line in access), access
    assert [line["request_id"] for line in access if line["message"] == "GET /nope 404"] == ["served-404"]
    in_requests = [line for line in lines if "http_method" in line]
    assert all("request_id" in line for line in in_requests), in_requests

    # The readiness checks' exceptions: each traceback inside one line, with the request's id.
    raised = [line for line in lines if line["logger"] == "backendkit.health"]
    assert raised, lines
    for line in raised:
        assert (line["level"], line["request_id"]) == ("error", "served-ready"), line
        assert line["exception"]["stack"].startswith("Traceback (most recent call last):"), line
        assert "redis.exceptions.ConnectionError" in line["exception"]["stack"], line
    assert "Traceback" not in "".join(line["message"] for line in lines)


def test_a_worker_that_cannot_boot_logs_its_traceback_in_one_line() -> None:
    # A bad Redis URL makes the Flask example raise while gunicorn's worker imports it.
    port = free_port()
    command = [PY, "-m", "gunicorn", "-c", "examples/gunicorn_conf.py", "-w", "1", "-b", f"127.0.0.1:{port}"]
    env = example_env(BACKENDKIT_EXAMPLE_REDIS_URL="notredis://x")
    done = subprocess.run([*command, APPS["flask"]], cwd=ROOT, env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 3  # gunicorn's "worker failed to boot"
    assert done.stdout == b""
    text = done.stderr.decode().splitlines()
    failed = json.loads(next(line for line in text if "Exception in worker process" in line))
    assert (failed["logger"], failed["level"]) == ("gunicorn.error", "error")
    assert "Redis URL" in failed["exception"]["message"]
    assert failed["exception"]["stack"].startswith("Traceback (most recent call last):")
    # Recent gunicorn releases also print the exception's message themselves, after logging it (not
    # through logging): one plain line at most; gunicorn 22 passes it through logging, as JSON.
    assert text.count(failed["exception"]["message"]) <= 1
    lines = json_lines("\n".join(line for line in text if line != failed["exception"]["message"]))
    assert [line["message"] for line in lines[-2:]] == ["Shutting down: Master", "Reason: Worker failed to boot."]


def _as_typed(argv: list[str]) -> tuple[str, ...]:
    """A command as a user types it, less what may differ: how the program is started, and the port."""
    program = argv[2] if argv[1:2] == ["-m"] and argv[2] in ("uvicorn", "gunicorn") else None
    launcher = argv[0].rsplit("/", 1)[-1]
    words = [program, *argv[3:]] if program else ["python" if launcher.startswith("python") else launcher, *argv[1:]]
    kept: list[str] = []
    for word in words:
        if kept and kept[-1] in ("--port", "-b"):
            kept.pop()  # the option and its value
            continue
        kept.append(word)
    return tuple(kept)


def test_the_readme_gives_the_commands_tested_here() -> None:
    readme = (ROOT / "README.md").read_text()
    typed = re.findall(r"\.venv/bin/(?:uvicorn|gunicorn|python -m examples\.)[^`&\n]*", readme)
    documented = {_as_typed(shlex.split(command.strip())) for command in typed}
    tested = {_as_typed(command(8000)) for command, _ in SERVERS.values()}
    assert documented == tested
