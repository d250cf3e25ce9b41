"""Golden output of every profile, and the formatter's promises."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from backendkit.context import RequestFacts, bind_request_facts, parse_traceparent, request_facts_var, request_id_var
from backendkit.logging import JSONFormatter
from tests.logging.conftest import line, make_record

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def in_request() -> Any:
    facts = RequestFacts(method="GET", client_ip="10.0.0.7", trace=parse_traceparent(TRACEPARENT), route="/tasks/{id}")
    id_token, facts_token = request_id_var.set("req-42"), bind_request_facts(facts)
    yield facts
    request_facts_var.reset(facts_token)
    request_id_var.reset(id_token)


def failing() -> BaseException:
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        return exc


def record_with_error() -> logging.LogRecord:
    exc = failing()
    return make_record(
        "it failed", level=logging.ERROR, extra={"order": 7}, exc_info=(type(exc), exc, exc.__traceback__)
    )


def without_stack(out: dict[str, Any], *path: str) -> str:
    node = out
    for key in path[:-1]:
        node = node[key]
    stack: str = node[path[-1]]
    node[path[-1]] = "<stack>"
    return stack


GOLDEN = {
    "default": {
        "timestamp": "2025-11-24T16:00:00.123Z",
        "level": "error",
        "logger": "app",
        "message": "it failed",
        "request_id": "req-42",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "http_method": "GET",
        "http_route": "/tasks/{id}",
        "client_ip": "10.0.0.7",
        "order": 7,
        "exception": {"type": "ValueError", "message": "bad value", "stack": "<stack>"},
    },
    "ecs": {
        "@timestamp": "2025-11-24T16:00:00.123Z",
        "log.level": "error",
        "log.logger": "app",
        "message": "it failed",
        "ecs.version": "8.11.0",
        "http.request.id": "req-42",
        "trace.id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span.id": "00f067aa0ba902b7",
        "http.request.method": "GET",
        "http.route": "/tasks/{id}",
        "client.ip": "10.0.0.7",
        "order": 7,
        "error.type": "ValueError",
        "error.message": "bad value",
        "error.stack_trace": "<stack>",
    },
    "gcp": {
        "time": "2025-11-24T16:00:00.123Z",
        "severity": "ERROR",
        "logger": "app",
        "message": "it failed",
        "request_id": "req-42",
        "logging.googleapis.com/trace": "projects/my-proj/traces/4bf92f3577b34da6a3ce929d0e0e4736",
        "logging.googleapis.com/spanId": "00f067aa0ba902b7",
        "logging.googleapis.com/trace_sampled": True,
        "http_method": "GET",
        "http_route": "/tasks/{id}",
        "client_ip": "10.0.0.7",
        "order": 7,
        "exception": {"type": "ValueError", "message": "bad value"},
        "stack_trace": "<stack>",
    },
    "otel": {
        "timestamp": "2025-11-24T16:00:00.123Z",
        "severity_text": "ERROR",
        "severity_number": 17,
        "logger": "app",
        "body": "it failed",
        "request_id": "req-42",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "trace_flags": "01",
        "http.request.method": "GET",
        "http.route": "/tasks/{id}",
        "client.address": "10.0.0.7",
        "order": 7,
        "exception.type": "ValueError",
        "exception.message": "bad value",
        "exception.stacktrace": "<stack>",
    },
}
STACK_AT = {
    "default": ("exception", "stack"),
    "ecs": ("error.stack_trace",),
    "gcp": ("stack_trace",),
    "otel": ("exception.stacktrace",),
}


@pytest.mark.usefixtures("in_request")
@pytest.mark.parametrize("profile", sorted(GOLDEN))
def test_golden_line_in_a_request(profile: str) -> None:
    out = line(JSONFormatter(profile=profile, gcp_project="my-proj"), record_with_error())
    stack = without_stack(out, *STACK_AT[profile])
    assert stack.startswith("Traceback (most recent call last):\n")
    assert 'raise ValueError("bad value")' in stack
    assert stack.endswith("ValueError: bad value\n")
    assert out == GOLDEN[profile]
    assert list(out) == list(GOLDEN[profile])  # the order is part of the format


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("default", {"timestamp": "2025-11-24T16:00:00.123Z", "level": "info", "logger": "app", "message": "hello"}),
        (
            "ecs",
            {
                "@timestamp": "2025-11-24T16:00:00.123Z",
                "log.level": "info",
                "log.logger": "app",
                "message": "hello",
                "ecs.version": "8.11.0",
            },
        ),
        ("gcp", {"time": "2025-11-24T16:00:00.123Z", "severity": "INFO", "logger": "app", "message": "hello"}),
        (
            "otel",
            {
                "timestamp": "2025-11-24T16:00:00.123Z",
                "severity_text": "INFO",
                "severity_number": 9,
                "logger": "app",
                "body": "hello",
            },
        ),
    ],
)
def test_golden_line_outside_a_request(profile: str, expected: dict[str, Any]) -> None:
    assert line(JSONFormatter(profile=profile), make_record()) == expected


def test_gcp_trace_without_a_project_is_the_bare_id(in_request: RequestFacts) -> None:
    out = line(JSONFormatter(profile="gcp"), make_record())
    assert out["logging.googleapis.com/trace"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_extras_are_top_level_and_never_shadow_the_header() -> None:
    record = make_record(extra={"user": "ann", "level": "custom", "logger": "mine", "when": 3})
    out = line(JSONFormatter(), record)
    assert out["level"] == "info"
    assert out["extra.level"] == "custom"
    assert out["extra.logger"] == "mine"
    assert (out["user"], out["when"]) == ("ann", 3)


def test_static_fields_and_lazy_context() -> None:
    facts = RequestFacts(method="POST", route=lambda: "/late", user_id=lambda: 99)
    token = bind_request_facts(facts)
    try:
        out = line(JSONFormatter(static_fields={"service": "tasks", "version": "1.2"}), make_record())
    finally:
        request_facts_var.reset(token)
    assert (out["service"], out["version"]) == ("tasks", "1.2")
    assert (out["http_route"], out["user_id"]) == ("/late", "99")


def test_timestamps_are_utc_milliseconds() -> None:
    formatter = JSONFormatter()
    record = make_record()
    for created, expected in [(0.0, "1970-01-01T00:00:00.000Z"), (1_700_000_000.9999, "2023-11-14T22:13:20.999Z")]:
        record.created = created
        assert line(formatter, record)["timestamp"] == expected


def test_stack_info() -> None:
    record = make_record()
    record.stack_info = "Stack (most recent call last):\n  File x"
    assert line(JSONFormatter(), record)["stack_info"].startswith("Stack (most recent call last)")


def test_unknown_profile() -> None:
    with pytest.raises(ValueError, match="default, ecs, gcp, otel"):
        JSONFormatter(profile="splunk")
