"""Beside the official OpenTelemetry instrumentations: one server span per request, never two.

When an instrumentation of the framework has made the request's span before backendkit
sees the request (the FastAPI/ASGI and WSGI middleware, Django's middleware), backendkit
adopts it: its rate-limit, token and idempotency spans are that span's children, and the
request's log lines carry its ids. Flask's instrumentation starts its span in a
``before_request`` hook, after backendkit's request start: it then sees backendkit's
server span and, by its own rule for an already-traced request, makes an ``INTERNAL``
child of it. Either way there is exactly one ``SERVER`` span.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

from backendkit.observability import observe
from backendkit.observability.opentelemetry import OpenTelemetry
from tests.support.logs import LineCatcher

Send = Callable[[str, dict[str, str]], int]


@dataclass
class Traced:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self, servers: int) -> list[ReadableSpan]:
        deadline = time.monotonic() + 5
        while True:
            spans = list(self.exporter.get_finished_spans())
            if sum(s.kind is SpanKind.SERVER for s in spans) >= servers or time.monotonic() > deadline:
                return spans
            time.sleep(0.01)


@contextmanager
def _tracing(tracer_provider: TracerProvider) -> Iterator[Traced]:
    exporter = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    try:
        with observe(OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)):
            yield Traced(tracer_provider, meter_provider, exporter, reader)
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


@pytest.fixture
def traced() -> Iterator[Traced]:
    with _tracing(TracerProvider()) as made:
        yield made


def _fastapi(traced: Traced) -> Iterator[Send]:
    from fastapi.testclient import TestClient
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    from examples.fastapi_app import create_app
    from tests.support.asgi import from_peer

    app = create_app()
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=traced.tracer_provider, meter_provider=traced.meter_provider
    )
    client = TestClient(from_peer(app, "127.0.0.1", 50000))
    try:
        yield lambda path, headers: client.get(path, headers=headers).status_code
    finally:
        FastAPIInstrumentor.uninstrument_app(app)


def _flask_wsgi(traced: Traced) -> Iterator[Send]:
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    from examples.flask_app import create_app

    app = create_app()
    app.wsgi_app = OpenTelemetryMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, tracer_provider=traced.tracer_provider, meter_provider=traced.meter_provider
    )
    client = app.test_client()

    def send(path: str, headers: dict[str, str]) -> int:
        with client.get(path, headers=headers) as response:  # closing it ends the middleware's span
            return response.status_code

    yield send


def _django(traced: Traced) -> Iterator[Send]:
    from django.test import Client
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    DjangoInstrumentor().instrument(tracer_provider=traced.tracer_provider, meter_provider=traced.meter_provider)
    try:
        client = Client()  # (its handler loads the middleware, the instrumentation's first, on its first request)
        yield lambda path, headers: client.get(path, headers=headers).status_code
    finally:
        DjangoInstrumentor().uninstrument()


ADOPTING = {"fastapi": _fastapi, "flask-wsgi-middleware": _flask_wsgi, "django": _django}


@pytest.fixture(params=sorted(ADOPTING))
def instrumented(request: pytest.FixtureRequest, traced: Traced) -> Iterator[Send]:
    yield from ADOPTING[request.param](traced)


def _under(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _ids(span: ReadableSpan) -> tuple[str, str]:
    assert span.context is not None
    return format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")


def _access_line(catcher: LineCatcher, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        for line in catcher.lines:
            if line.get("request_id") == request_id and line["logger"] == "backendkit.access":
                return line
        time.sleep(0.01)
    raise AssertionError(f"no access line for {request_id}")


def test_the_instrumentation_s_span_is_the_only_server_span(
    instrumented: Send, traced: Traced, log_lines: LineCatcher
) -> None:
    client = f"2001:db8:{uuid.uuid4().int % 65536:x}::1"
    rid = f"official-{uuid.uuid4().hex[:12]}"
    assert instrumented("/limited", {"X-Forwarded-For": client, "X-Request-ID": rid}) == 200
    spans = traced.spans(1)
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.instrumentation_scope is not None
    assert server.instrumentation_scope.name != "backendkit"  # theirs, adopted
    [check] = [s for s in spans if s.name == "backendkit.ratelimit.check"]
    assert check.parent is not None
    assert server.context is not None
    assert check.parent.span_id == server.context.span_id
    assert dict(check.attributes or {})["backendkit.ratelimit.outcome"] == "allowed"
    access = _access_line(log_lines, rid)
    assert (access["trace_id"], access["span_id"]) == _ids(server)


def test_an_unmatched_path_still_makes_one_server_span(instrumented: Send, traced: Traced) -> None:
    assert instrumented("/no-such-page", {}) == 404
    spans = traced.spans(1)
    assert sum(s.kind is SpanKind.SERVER for s in spans) == 1
    assert all(s.instrumentation_scope is None or s.instrumentation_scope.name != "backendkit" for s in spans)


def _metric_names(reader: InMemoryMetricReader) -> dict[str, set[str]]:
    """The names of the metrics each instrumentation scope recorded."""
    data = reader.get_metrics_data()
    found: dict[str, set[str]] = {}
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            found.setdefault(scope.scope.name, set()).update(metric.name for metric in scope.metrics)
    return found


def test_the_instrumentation_s_request_metrics_are_the_only_ones(instrumented: Send, traced: Traced) -> None:
    headers = {"X-Forwarded-For": f"2001:db8:{uuid.uuid4().int % 65536:x}::1"}
    assert instrumented("/limited", headers) == 200
    assert instrumented("/no-such-page", {}) == 404
    recorded = _metric_names(traced.reader)
    ours = recorded.pop("backendkit")
    assert ours == {"backendkit.ratelimit.decisions"}  # the pieces' metrics; no second http.server.* series
    assert any("http.server.active_requests" in theirs for theirs in recorded.values())


def test_flask_s_instrumentation_nests_under_backendkit_s_server_span(traced: Traced, log_lines: LineCatcher) -> None:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    from examples.flask_app import create_app

    app = create_app()
    FlaskInstrumentor().instrument_app(
        app, tracer_provider=traced.tracer_provider, meter_provider=traced.meter_provider
    )
    try:
        rid = f"flask-official-{uuid.uuid4().hex[:12]}"
        headers = {"X-Forwarded-For": f"2001:db8:{uuid.uuid4().int % 65536:x}::1", "X-Request-ID": rid}
        assert app.test_client().get("/limited", headers=headers).status_code == 200
        assert app.test_client().patch("/tasks/1").status_code == 405
    finally:
        FlaskInstrumentor().uninstrument_app(app)
    spans = traced.spans(2)
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /limited", "PATCH /tasks/{task_id}"]
    nested = []
    for server in servers:
        assert server.instrumentation_scope is not None
        assert server.instrumentation_scope.name == "backendkit"
        [theirs] = _under(spans, server)
        assert theirs.instrumentation_scope is not None
        assert (theirs.instrumentation_scope.name, theirs.kind) == (
            "opentelemetry.instrumentation.flask",
            SpanKind.INTERNAL,
        )
        nested.append(theirs)
    # The limit decorates the view, which runs inside their span: the check is its child.
    assert [s.name for s in _under(spans, nested[0])] == ["backendkit.ratelimit.check"]
    access = _access_line(log_lines, rid)
    assert (access["trace_id"], access["span_id"]) == _ids(servers[0])


class DropThenKeep(IdGenerator):
    """Trace ids that a ratio sampler of one half drops, then keeps, in turn; and the ones it made."""

    LOW = (1 << 64) - 1  # TraceIdRatioBased samples by a trace id's low 64 bits

    def __init__(self) -> None:
        self.made: list[int] = []
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        return self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        low = self.LOW if len(self.made) % 2 == 0 else 1  # all ones: above any bound; 1: below every bound
        made = (self._random.generate_trace_id() & ~self.LOW) | low
        self.made.append(made)
        return made


@pytest.mark.parametrize("framework", sorted(ADOPTING))
def test_a_request_the_sampler_dropped_is_not_traced_by_backendkit_either(
    framework: str, log_lines: LineCatcher
) -> None:
    ids = DropThenKeep()
    rids = [f"sampled-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with _tracing(TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.5)), id_generator=ids)) as traced:
        with closing(ADOPTING[framework](traced)) as sending:
            send = next(sending)
            for rid in rids:
                headers = {"X-Forwarded-For": f"2001:db8:{uuid.uuid4().int % 65536:x}::1", "X-Request-ID": rid}
                assert send("/limited", headers) == 200
        spans = traced.spans(1)
    dropped, kept = ids.made  # one trace per request: backendkit started none of its own
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.instrumentation_scope is not None
    assert server.instrumentation_scope.name != "backendkit"
    assert {s.context.trace_id for s in spans if s.context is not None} == {kept}
    ours = [
        s.name
        for s in _under(spans, server)
        if s.instrumentation_scope and s.instrumentation_scope.name == "backendkit"
    ]
    assert ours == ["backendkit.ratelimit.check"]
    # The dropped request's lines still name its (unrecorded) trace, so they join whatever the caller kept.
    assert _access_line(log_lines, rids[0])["trace_id"] == format(dropped, "032x")
    assert (_access_line(log_lines, rids[1])["trace_id"], _access_line(log_lines, rids[1])["span_id"]) == _ids(server)
