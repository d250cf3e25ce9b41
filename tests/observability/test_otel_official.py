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
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
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

    def spans(self, servers: int) -> list[ReadableSpan]:
        deadline = time.monotonic() + 5
        while True:
            spans = list(self.exporter.get_finished_spans())
            if sum(s.kind is SpanKind.SERVER for s in spans) >= servers or time.monotonic() > deadline:
                return spans
            time.sleep(0.01)


@pytest.fixture
def traced() -> Iterator[Traced]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider()
    try:
        with observe(OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)):
            yield Traced(tracer_provider, meter_provider, exporter)
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


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
        assert app.test_client().put("/tasks/1").status_code == 405
    finally:
        FlaskInstrumentor().uninstrument_app(app)
    spans = traced.spans(2)
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /limited", "PUT /tasks/{task_id}"]
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
