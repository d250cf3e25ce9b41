"""OpenTelemetry on the wire's other side: the same spans and metric points from all seven targets.

The real SDK (a ``TracerProvider`` with an in-memory exporter, a ``MeterProvider`` with
an in-memory reader) receives what backendkit's ``OpenTelemetry`` observer records; each
test installs a fresh pair for itself only (the hub is process-wide, the targets are
shared by the session). A real server ends the request's span just after the response
has gone out, so each check waits for the spans it expects.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from backendkit.auth import HMACKey, issue
from backendkit.observability import observe
from backendkit.observability._core.catalog import DURATION_BUCKETS, SIZE_BUCKETS
from backendkit.observability.opentelemetry import OpenTelemetry
from examples import _auth
from tests.conformance.targets import Target
from tests.support.logs import LineCatcher

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = "00f067aa0ba902b7"


@dataclass
class Seen:
    """What the SDK received while one block of requests ran."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self, servers: int) -> list[ReadableSpan]:
        """Every finished span, once ``servers`` server spans have ended (a real server ends one after replying)."""
        deadline = time.monotonic() + 5
        while True:
            spans = list(self.exporter.get_finished_spans())
            done = sum(span.kind is SpanKind.SERVER for span in spans)
            if done >= servers or time.monotonic() > deadline:
                assert done == servers, [span.name for span in spans]
                return spans
            time.sleep(0.01)

    def points(self) -> dict[tuple[str, frozenset[tuple[str, Any]]], Any]:
        """Each metric point: a count for a histogram (with its bounds), else its value."""
        found: dict[tuple[str, frozenset[tuple[str, Any]]], Any] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                assert scope.scope.name == "backendkit"
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        key = (metric.name, frozenset((point.attributes or {}).items()))
                        if isinstance(point, HistogramDataPoint):
                            found[key] = (point.count, tuple(point.explicit_bounds))
                        else:
                            assert isinstance(point, NumberDataPoint)
                            found[key] = point.value
        return found


@contextmanager
def observed(*, probes: bool = False) -> Iterator[Seen]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    try:
        with observe(OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider), probes=probes):
            yield Seen(exporter, reader)
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


def server_spans(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is SpanKind.SERVER]


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[tuple[str, dict[str, Any]]]:
    """The spans directly under ``parent``, by name and attributes, in the order they ended."""
    assert parent.context is not None
    found = [span for span in spans if span.parent is not None and span.parent.span_id == parent.context.span_id]
    for span in found:
        assert span.kind is SpanKind.INTERNAL
        assert parent.start_time is not None
        assert span.start_time is not None
        assert span.start_time >= parent.start_time - 1_000_000  # (the clock's rounding)
    return [(span.name, dict(span.attributes or {})) for span in found]


def described(span: ReadableSpan) -> tuple[str, dict[str, Any], StatusCode]:
    return span.name, dict(span.attributes or {}), span.status.status_code


def http(method: str, path: str, status: int, route: str | None = None, **more: Any) -> dict[str, Any]:
    """The attributes of a server span (every target's requests come from loopback unless forwarded)."""
    attributes = {
        "http.request.method": method,
        "url.path": path,
        "url.scheme": "http",
        "client.address": more.pop("client", "127.0.0.1"),
        "http.response.status_code": status,
    }
    if route is not None:
        attributes["http.route"] = route
    return {**attributes, **more}


def duration(method: str, route: str | None, status: int, count: int = 1) -> tuple[Any, Any]:
    labels: dict[str, Any] = {"http.request.method": method, "http.response.status_code": status}
    if route is not None:
        labels["http.route"] = route
    return ("http.server.request.duration", frozenset(labels.items())), (count, DURATION_BUCKETS)


def token(**options: Any) -> str:
    key = options.pop("key", None) or HMACKey(_auth.secret())
    return issue(key, "user-7", issuer=_auth.ISSUER, audience=_auth.AUDIENCE, claims={"roles": ["viewer"]}, **options)


def test_every_status_names_its_span_for_the_route(target: Target) -> None:
    cases = [
        ("GET", "/tasks/999999", 404),  # raised by the view of a matched route
        ("PATCH", "/tasks/1", 405),  # a known path, another method
        ("GET", "/no-such-page", 404),  # no route: the method alone
        ("GET", "/boom", 500),
    ]
    with observed() as seen:
        for method, path, status in cases:
            assert target.request(method, path).status == status
        spans = seen.spans(len(cases))
        points = seen.points()
    assert [described(span) for span in server_spans(spans)] == [
        ("GET /tasks/{task_id}", http("GET", "/tasks/999999", 404, "/tasks/{task_id}"), StatusCode.UNSET),
        ("PATCH /tasks/{task_id}", http("PATCH", "/tasks/1", 405, "/tasks/{task_id}"), StatusCode.UNSET),
        ("GET", http("GET", "/no-such-page", 404), StatusCode.UNSET),
        ("GET /boom", http("GET", "/boom", 500, "/boom", **{"error.type": "500"}), StatusCode.ERROR),
    ]
    assert len(spans) == len(cases)  # no child span: no piece decided anything
    durations = {key: value for key, value in points.items() if key[0] == "http.server.request.duration"}
    assert durations == dict(
        [
            duration("GET", "/tasks/{task_id}", 404),
            duration("PATCH", "/tasks/{task_id}", 405),
            duration("GET", None, 404),  # every unmatched path is the one series, with no http.route
            duration("GET", "/boom", 500),
        ]
    )
    active = {key: value for key, value in points.items() if key[0] == "http.server.active_requests"}
    assert active == {
        ("http.server.active_requests", frozenset({("http.request.method", "GET")})): 0,
        ("http.server.active_requests", frozenset({("http.request.method", "PATCH")})): 0,
    }
    response_sizes = [value for key, value in points.items() if key[0] == "http.server.response.body.size"]
    assert response_sizes == [(1, SIZE_BUCKETS)] * 4


def test_a_policy_s_decisions_are_child_spans_and_counts(target: Target) -> None:
    client = f"2001:db8:{uuid.uuid4().int % 65536:x}::1"  # a fresh client for the example's 5/minute
    with observed() as seen:
        statuses = [target.request("GET", "/limited", headers={"X-Forwarded-For": client}).status for _ in range(6)]
        spans = seen.spans(6)
        points = seen.points()
    assert statuses == [200] * 5 + [429]
    servers = server_spans(spans)
    assert [described(span) for span in servers] == [
        ("GET /limited", http("GET", "/limited", status, "/limited", client=client), StatusCode.UNSET)
        for status in statuses
    ]
    outcomes = [children(spans, span) for span in servers]
    assert outcomes == [
        [
            (
                "backendkit.ratelimit.check",
                {"backendkit.ratelimit.policy": "5-per-60s", "backendkit.ratelimit.outcome": outcome},
            )
        ]
        for outcome in ["allowed"] * 5 + ["limited"]
    ]
    decisions = {key: value for key, value in points.items() if key[0] == "backendkit.ratelimit.decisions"}
    assert decisions == {
        ("backendkit.ratelimit.decisions", frozenset({("policy", "5-per-60s"), ("outcome", "allowed")})): 5,
        ("backendkit.ratelimit.decisions", frozenset({("policy", "5-per-60s"), ("outcome", "limited")})): 1,
    }
    assert dict([duration("GET", "/limited", 200, 5), duration("GET", "/limited", 429)]).items() <= points.items()


def test_token_verifications_are_child_spans_and_counts(target: Target) -> None:
    refused = {"Authorization": f"Bearer {token(key=HMACKey('some-other-secret-that-is-long-enough-32+'))}"}
    with observed() as seen:
        assert target.request("GET", "/me", headers={"Authorization": f"Bearer {token()}"}).status == 200
        assert target.request("GET", "/me", headers=refused).status == 401
        assert target.request("GET", "/me", headers={"Authorization": "Bearer not.a.jwt"}).status == 401
        spans = seen.spans(3)
        points = seen.points()
    servers = server_spans(spans)
    assert [(span.name, dict(span.attributes or {})["http.response.status_code"]) for span in servers] == [
        ("GET /me", 200),
        ("GET /me", 401),
        ("GET /me", 401),
    ]
    assert [children(spans, span) for span in servers] == [
        [("backendkit.auth.verify", {"backendkit.auth.outcome": "accepted"})],
        [("backendkit.auth.verify", {"backendkit.auth.outcome": "refused", "backendkit.auth.reason": "bad_signature"})],
        [("backendkit.auth.verify", {"backendkit.auth.outcome": "refused", "backendkit.auth.reason": "malformed"})],
    ]
    verifications = {key: value for key, value in points.items() if key[0] == "backendkit.auth.verifications"}
    assert verifications == {
        ("backendkit.auth.verifications", frozenset({("outcome", "accepted"), ("reason", "none")})): 1,
        ("backendkit.auth.verifications", frozenset({("outcome", "refused"), ("reason", "bad_signature")})): 1,
        ("backendkit.auth.verifications", frozenset({("outcome", "refused"), ("reason", "malformed")})): 1,
    }


def test_an_idempotent_replay_is_a_child_span_and_a_count(target: Target) -> None:
    key, body = uuid.uuid4().hex, json.dumps({"title": f"task {uuid.uuid4().hex}"}).encode()
    with observed() as seen:
        first = target.request("POST", "/tasks", headers={"Idempotency-Key": key}, body=body)
        again = target.request("POST", "/tasks", headers={"Idempotency-Key": key}, body=body)
        spans = seen.spans(2)
        points = seen.points()
    assert (first.status, again.status, again.headers["idempotent-replayed"]) == (201, 201, "true")
    servers = server_spans(spans)
    assert [span.name for span in servers] == ["POST /tasks", "POST /tasks"]
    assert [children(spans, span) for span in servers] == [
        [
            ("backendkit.idempotency.begin", {"backendkit.idempotency.outcome": "first_run"}),
            ("backendkit.idempotency.finish", {"backendkit.idempotency.outcome": "stored"}),
        ],
        [("backendkit.idempotency.begin", {"backendkit.idempotency.outcome": "replay"})],
    ]
    requests = {key: value for key, value in points.items() if key[0] == "backendkit.idempotency.requests"}
    assert requests == {
        ("backendkit.idempotency.requests", frozenset({("outcome", "first_run")})): 1,
        ("backendkit.idempotency.requests", frozenset({("outcome", "replay")})): 1,
    }
    labels = frozenset({("http.request.method", "POST"), ("http.route", "/tasks"), ("http.response.status_code", 201)})
    assert points[("http.server.request.body.size", labels)] == (2, SIZE_BUCKETS)  # declared by both


def test_a_page_served_marks_the_request_span(target: Target) -> None:
    with observed() as seen:
        assert target.request("GET", "/tasks").status == 200
        [span] = seen.spans(1)
        points = seen.points()
    assert (span.name, dict(span.attributes or {})) == (
        "GET /tasks",
        http("GET", "/tasks", 200, "/tasks", **{"backendkit.pagination.strategy": "cursor"}),
    )
    assert points[("backendkit.pagination.pages", frozenset({("strategy", "cursor")}))] == 1


def test_probes_are_left_out_of_traces_and_request_metrics(target: Target) -> None:
    with observed() as seen:
        assert target.request("GET", "/livez").status == 200
        assert target.request("GET", "/tasks/999999").status == 404  # after the probe: its span is the only one
        [span] = seen.spans(1)
        points = seen.points()
    assert span.name == "GET /tasks/{task_id}"
    assert {key[0] for key in points if key[0].startswith("http.")} == {
        "http.server.request.duration",
        "http.server.active_requests",
        "http.server.response.body.size",
    }
    assert [key for key in points if key[0] == "http.server.request.duration"] == [
        duration("GET", "/tasks/{task_id}", 404)[0]
    ]
    assert ("http.server.active_requests", frozenset({("http.request.method", "GET")})) in points
    # The probe's own decision is still counted: it is a health metric, not a request.
    assert points[("backendkit.health.reports", frozenset({("probe", "live"), ("status", "pass")}))] == 1


def test_probes_are_traced_and_measured_when_asked(target: Target) -> None:
    with observed(probes=True) as seen:
        assert target.request("GET", "/livez").status == 200
        [span] = seen.spans(1)
        points = seen.points()
    assert described(span) == (
        "GET /livez",
        http("GET", "/livez", 200, "/livez", **{"backendkit.health.probe": "live", "backendkit.health.status": "pass"}),
        StatusCode.UNSET,
    )
    assert dict([duration("GET", "/livez", 200)]).items() <= points.items()


def test_an_incoming_traceparent_is_continued_and_logged(target: Target, log_lines: LineCatcher) -> None:
    rid = f"otel-{target.name}-{uuid.uuid4().hex[:8]}"
    headers = {"X-Request-ID": rid, "traceparent": f"00-{TRACE_ID}-{CALLER}-01", "tracestate": "vendor=opaque,b=2"}
    with observed() as seen:
        assert target.request("GET", "/log/abc", headers=headers).status == 200
        [span] = seen.spans(1)
    assert span.name == "GET /log/{item}"
    assert span.context is not None
    assert span.parent is not None
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert (format(span.parent.span_id, "016x"), span.parent.is_remote) == (CALLER, True)
    assert list(span.context.trace_state.items()) == [("vendor", "opaque"), ("b", "2")]
    span_id = format(span.context.span_id, "016x")
    assert span_id != CALLER
    ids = {
        line["logger"]: (line["trace_id"], line["span_id"])
        for line in wait_for_lines(log_lines, rid, 2)
        if line["logger"] in ("tasks.test", "backendkit.access")
    }
    assert ids == {"tasks.test": (TRACE_ID, span_id), "backendkit.access": (TRACE_ID, span_id)}


def test_without_traceparent_each_request_starts_a_trace_its_logs_name(target: Target, log_lines: LineCatcher) -> None:
    rid = f"otel-root-{target.name}-{uuid.uuid4().hex[:8]}"
    with observed() as seen:
        assert target.request("GET", "/log/abc", headers={"X-Request-ID": rid}).status == 200
        [span] = seen.spans(1)
    assert span.parent is None
    assert span.context is not None
    [inside] = [line for line in wait_for_lines(log_lines, rid, 2) if line["logger"] == "tasks.test"]
    assert (inside["trace_id"], inside["span_id"]) == (
        format(span.context.trace_id, "032x"),
        format(span.context.span_id, "016x"),
    )


def wait_for_lines(catcher: LineCatcher, request_id: str, count: int) -> list[dict[str, Any]]:
    """The lines of one request, once ``count`` have arrived (the access line comes after the reply)."""
    deadline = time.monotonic() + 3
    while True:
        found = [line for line in catcher.lines if line.get("request_id") == request_id]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.01)
