"""Logs on the wire's other side: the same access line and the same request context everywhere."""

from __future__ import annotations

import functools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conformance.targets import LOG_PASSWORD, VALIDATION_SECRET, Target
from tests.support.logs import LineCatcher

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
ACCESS_FIELDS = ["http_method", "http_route", "client_ip", "http_path", "http_status", "response_size", "user_agent"]


def lines_of(catcher: LineCatcher, request_id: str, logger: str, *, expect: int = 1) -> list[dict[str, Any]]:
    """The lines of one request. A real server writes the access line just after the
    response has gone out, so wait (briefly) for the expected number to arrive."""
    deadline = time.monotonic() + 3
    while True:
        found = [x for x in catcher.lines if x.get("request_id") == request_id and x["logger"] == logger]
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def client_ip(target: Target) -> str:
    return "127.0.0.1"  # every target's requests come from loopback


def test_one_access_line_per_request(target: Target, log_lines: LineCatcher) -> None:
    rid = f"access-{target.name}"
    headers = {"X-Request-ID": rid, "traceparent": TRACEPARENT, "User-Agent": "conformance/1"}
    reply = target.request("GET", "/tasks/999999?token=abc&page=2", headers=headers)
    assert reply.status == 404
    [access] = lines_of(log_lines, rid, "backendkit.access")
    assert access["level"] == "warning"
    assert access["message"] == "GET /tasks/999999 404"
    assert {k: access[k] for k in ACCESS_FIELDS} == {
        "http_method": "GET",
        "http_route": "/tasks/{task_id}",
        "client_ip": client_ip(target),
        "http_path": "/tasks/999999?token=[REDACTED]&page=2",
        "http_status": 404,
        "response_size": len(reply.body),
        "user_agent": "conformance/1",
    }
    assert (access["trace_id"], access["span_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert 0 <= access["duration_ms"] < 10_000


@pytest.mark.parametrize(("path", "status", "level"), [("/no-such-page", 404, "warning"), ("/boom", 500, "error")])
def test_access_level_follows_the_status(
    target: Target, log_lines: LineCatcher, path: str, status: int, level: str
) -> None:
    rid = f"level-{status}-{target.name}"
    assert target.request("GET", path, headers={"X-Request-ID": rid}).status == status
    [access] = lines_of(log_lines, rid, "backendkit.access")
    assert (access["http_status"], access["level"]) == (status, level)


def test_probes_are_access_logged_at_debug_only(target: Target, log_lines: LineCatcher) -> None:
    # The catcher reads INFO and above: a probe's line is written at DEBUG (ACCESS_LOG_QUIET).
    rid = f"health-{target.name}"
    assert target.request("GET", "/healthz", headers={"X-Request-ID": rid}).status == 200
    target.request("GET", "/no-such-page", headers={"X-Request-ID": rid})  # logged, and after /healthz
    assert [x["http_path"] for x in lines_of(log_lines, rid, "backendkit.access")] == ["/no-such-page"]


def test_lines_inside_a_request_carry_its_context(target: Target, log_lines: LineCatcher) -> None:
    rid = f"inside-{target.name}"
    reply = target.request("GET", "/log/abc", headers={"X-Request-ID": rid, "traceparent": TRACEPARENT})
    assert reply.status == 200
    [inside] = lines_of(log_lines, rid, "tasks.test")
    assert inside == {
        "timestamp": inside["timestamp"],
        "level": "info",
        "logger": "tasks.test",
        "message": "inside the view",
        "request_id": rid,
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "http_method": "GET",
        "http_route": "/log/{item}",
        "client_ip": client_ip(target),
        "password": "[REDACTED]",
        "n": 1,
    }
    assert LOG_PASSWORD not in json.dumps(log_lines.lines)


def test_the_500_is_logged_with_a_structured_traceback(target: Target, log_lines: LineCatcher) -> None:
    rid = f"bug-{target.name}"
    target.request("GET", "/boom", headers={"X-Request-ID": rid})
    [error] = lines_of(log_lines, rid, "backendkit.errors")
    assert error["level"] == "error"
    assert error["exception"]["type"] == "RuntimeError"
    assert error["exception"]["stack"].startswith("Traceback (most recent call last):")
    assert error["http_method"] == "GET"


def _log_once(target: Target, request_id: str) -> int:
    return target.request("GET", f"/log/{request_id}", headers={"X-Request-ID": request_id}).status


@pytest.mark.socket
def test_concurrent_requests_keep_their_own_context(all_targets: dict[str, Target], log_lines: LineCatcher) -> None:
    for name, target in all_targets.items():
        if target.port is None:
            continue
        ids = [f"ctx-{name}-{n}" for n in range(24)]
        with ThreadPoolExecutor(max_workers=12) as pool:
            assert set(pool.map(functools.partial(_log_once, target), ids)) == {200}
        for rid in ids:
            [inside] = lines_of(log_lines, rid, "tasks.test")
            assert inside["http_route"] == "/log/{item}", name
            [access] = lines_of(log_lines, rid, "backendkit.access")
            assert access["http_path"] == f"/log/{rid}", name


@pytest.mark.socket
def test_access_lines_are_identical_across_real_servers(all_targets: dict[str, Target], log_lines: LineCatcher) -> None:
    seen = {}
    for n, (name, target) in enumerate(all_targets.items()):
        if target.port is None:
            continue
        rid = f"same-access-{n:02d}"  # one length for all: the id is in the body, and so in its size
        target.request("POST", "/tasks?api_key=k", headers={"X-Request-ID": rid}, body=b'{"title": ""}')
        [access] = lines_of(log_lines, rid, "backendkit.access")
        seen[name] = {k: v for k, v in access.items() if k not in ("timestamp", "request_id", "duration_ms")}
    reference = seen["fastapi-uvicorn"]
    assert reference["http_path"] == "/tasks?api_key=[REDACTED]"
    assert reference["http_status"] == 422
    for name, access in seen.items():
        assert access == reference, name


def _round_trip(target: Target, path: str, user_agent: str) -> float:
    start = time.perf_counter()
    reply = target.request("GET", path, headers={"User-Agent": user_agent})
    assert reply.status == 404
    return time.perf_counter() - start


@pytest.mark.socket
def test_a_path_made_to_backtrack_does_not_stall_a_server(
    all_targets: dict[str, Target], log_lines: LineCatcher
) -> None:
    # 16 KB of one character before a secret pair: the access log scrubs the path and the
    # User-Agent, and a backtracking pattern once held each server for 10 s or more.
    hostile = "/" + "a" * 16_000 + "!token:x"
    plain = "/" + "a" * 16_000 + "!plain-x"  # as long, with nothing to scrub
    for name, target in all_targets.items():
        if target.port is None:
            continue
        plain_time = min(_round_trip(target, plain, plain[1:]) for _ in range(3))
        hostile_time = min(_round_trip(target, hostile, hostile[1:]) for _ in range(3))
        assert hostile_time < 20 * plain_time, (name, hostile_time, plain_time)
    written = [x for x in log_lines.lines if "!token:" in x.get("message", "")]
    assert written
    assert all(x["message"].endswith("!token:[REDACTED] 404") for x in written if x["logger"] == "backendkit.access")


def test_a_bug_chained_from_a_validation_error_logs_no_input(target: Target, log_lines: LineCatcher) -> None:
    rid = f"chained-{target.name}"
    assert target.request("GET", "/boom-validation", headers={"X-Request-ID": rid}).status == 500
    [error] = lines_of(log_lines, rid, "backendkit.errors")
    assert "input_value=[REDACTED]" in error["exception"]["stack"]
    lines_of(log_lines, rid, "backendkit.access")  # wait for the request's last line
    assert VALIDATION_SECRET not in json.dumps(log_lines.lines)


# Each of these once reached a log line: percent-encoded, in a path parameter, in a parameter's name.
HIDDEN_SECRETS = {
    "/nope?next=https%3A%2F%2Fu%3Ahunter2%40db%2F": "hunter2",
    "/nope?auth=Bearer%20tok-hunter3": "hunter3",
    "/nope?password%3Dhunter4=x": "hunter4",
    "/nope;password=hunter5": "hunter5",
}


@pytest.mark.parametrize(("path", "secret"), list(HIDDEN_SECRETS.items()), ids=list(HIDDEN_SECRETS.values()))
def test_encoded_secrets_in_the_url_reach_no_line(
    target: Target, log_lines: LineCatcher, path: str, secret: str
) -> None:
    rid = f"hidden-{list(HIDDEN_SECRETS).index(path)}-{target.name}"
    assert target.request("GET", path, headers={"X-Request-ID": rid}).status == 404
    lines_of(log_lines, rid, "backendkit.access")
    assert secret not in json.dumps(log_lines.lines)


def test_every_django_request_line_carries_the_request_id(target: Target, log_lines: LineCatcher) -> None:
    # Django writes a django.request line per 4xx/5xx; it once did so after the middleware had
    # returned, without the request id, and twice for a 405.
    for n, (method, path) in enumerate([("GET", "/nope"), ("PATCH", "/tasks/1"), ("GET", "/boom")]):
        rid = f"django-request-{n}-{target.name}"
        target.request(method, path, headers={"X-Request-ID": rid})
        lines_of(log_lines, rid, "backendkit.access")
    time.sleep(0.05)  # a line written after the access line would arrive just after it
    django_lines = [x for x in log_lines.lines if x["logger"] == "django.request"]
    if target.framework != "django":
        assert django_lines == []
        return
    assert [x.get("request_id") for x in django_lines] == [f"django-request-{n}-{target.name}" for n in range(3)], (
        django_lines
    )
