"""The OpenTelemetry observer on its own: redirects named for their route, failures, left-out requests."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler, SamplingResult
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags, TraceState
from opentelemetry.util.types import Attributes

from backendkit.context import RequestFacts
from backendkit.observability import RequestEnd, RequestStart, observe
from backendkit.observability.opentelemetry import OpenTelemetry


class Sdk:
    def __init__(self, sampler: Sampler | None = None) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(sampler=sampler)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.observer = OpenTelemetry(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def metric_names(self) -> dict[str, list[object]]:
        data = self.reader.get_metrics_data()
        found: dict[str, list[object]] = {}
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found[metric.name] = [getattr(p, "value", None) for p in metric.data.data_points]
        return found


@pytest.fixture
def sdk() -> Iterator[Sdk]:
    made = Sdk()
    try:
        yield made
    finally:
        made.tracer_provider.shutdown()
        made.meter_provider.shutdown()


def _end(status: int, *, route: str | None = "/x", excluded: bool = False, failed: bool = False) -> RequestEnd:
    return RequestEnd("GET", route, status, 0.002, None, 10, excluded, failed)


def _start() -> RequestStart:
    return RequestStart(RequestFacts(method="GET", client_ip="10.0.0.1"), "/x", "https", None, None)


def test_a_failure_after_the_response_started_is_an_error_span(sdk: Sdk) -> None:
    sdk.observer.request_finished(sdk.observer.request_started(_start()), _end(200, failed=True))
    [span] = sdk.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "_OTHER"
    assert (span.attributes or {})["url.scheme"] == "https"


def test_a_request_left_out_ends_its_span_and_records_no_request_metric(sdk: Sdk) -> None:
    start = _start()
    sdk.observer.request_finished(sdk.observer.request_started(start), _end(200, excluded=True))
    [span] = sdk.spans()
    assert span.end_time is not None
    assert start.facts.trace is not None
    assert start.facts.trace.span_id == format(span.context.span_id, "016x")  # type: ignore[union-attr]
    assert sdk.metric_names() == {"http.server.active_requests": [0]}


def _duration_attributes(sdk: Sdk) -> list[dict[str, object]]:
    data = sdk.reader.get_metrics_data()
    return [
        dict(point.attributes or {})
        for resource in (data.resource_metrics if data is not None else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "http.server.request.duration"
        for point in metric.data.data_points
    ]


def test_an_unmatched_request_s_metrics_have_no_route_attribute(sdk: Sdk) -> None:
    sdk.observer.request_finished(sdk.observer.request_started(_start()), _end(404, route=None))
    sdk.observer.request_finished(sdk.observer.request_started(_start()), _end(404))
    assert sorted(_duration_attributes(sdk), key=len) == [
        {"http.request.method": "GET", "http.response.status_code": 404},  # OpenTelemetry: the unknown is left out
        {"http.request.method": "GET", "http.route": "/x", "http.response.status_code": 404},
    ]


def test_an_odd_method_is_other_in_labels_and_kept_as_the_original(sdk: Sdk) -> None:
    start = RequestStart(RequestFacts(method="PURGE"), "/x", "http", None, None)
    token = sdk.observer.request_started(start)
    sdk.observer.request_finished(token, RequestEnd("PURGE", None, 405, 0.001, None, None, False, False))
    [span] = sdk.spans()
    assert span.name == "HTTP"
    assert (span.attributes or {})["http.request.method"] == "_OTHER"
    assert (span.attributes or {})["http.request.method_original"] == "PURGE"


def test_a_start_that_failed_is_ignored_at_the_end(sdk: Sdk) -> None:
    sdk.observer.request_finished(None, _end(200))  # the hub passes None when request_started raised
    assert sdk.spans() == []


def test_an_outer_span_of_the_application_s_is_the_server_span_s_parent_not_adopted(sdk: Sdk) -> None:
    start = _start()
    with sdk.tracer_provider.get_tracer("tests").start_as_current_span("a job calling the app") as outer:
        sdk.observer.request_finished(sdk.observer.request_started(start), _end(200))
    server, done = sdk.spans()
    assert (server.name, server.kind, done.name) == ("GET /x", SpanKind.SERVER, "a job calling the app")
    assert server.parent is not None
    assert server.parent.span_id == outer.get_span_context().span_id
    assert start.facts.trace is not None
    assert start.facts.trace.span_id == format(server.context.span_id, "016x")  # type: ignore[union-attr]
    assert "http.server.request.duration" in sdk.metric_names()


def test_a_caller_s_context_entered_without_a_span_is_continued_not_adopted(sdk: Sdk) -> None:
    caller = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True, TraceFlags(1))
    entered = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(caller)))  # propagation only
    try:
        sdk.observer.request_finished(sdk.observer.request_started(_start()), _end(200))
    finally:
        otel_context.detach(entered)
    [server] = sdk.spans()
    assert server.kind is SpanKind.SERVER
    assert server.parent is not None
    assert (server.parent.trace_id, server.parent.span_id) == (caller.trace_id, caller.span_id)


def _fastapi_redirect() -> int:
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse
    from fastapi.testclient import TestClient

    from backendkit.fastapi import install

    app = FastAPI()
    install(app)

    @app.get("/moved/{n:int}", response_class=RedirectResponse)
    def moved(n: int) -> str:  # (a local class in an annotation: FastAPI before 0.115 cannot resolve it)
        return "/tasks"

    return TestClient(app).get("/moved/1", follow_redirects=False).status_code


def _flask_redirect() -> int:
    from flask import Flask, redirect

    from backendkit.flask import BackendKit

    app = Flask(__name__)
    BackendKit(app)

    @app.get("/moved/<int:n>")
    def moved(n: int) -> object:
        return redirect("/tasks")

    return app.test_client().get("/moved/1").status_code


def _django_redirect() -> int:
    from django.test import Client, override_settings

    with override_settings(ROOT_URLCONF="tests.observability.redirect_urls"):
        return Client().get("/moved/1").status_code


@pytest.mark.parametrize("send", [_fastapi_redirect, _flask_redirect, _django_redirect])
def test_a_redirect_is_named_for_its_route(sdk: Sdk, send: object) -> None:
    with observe(sdk.observer):
        status = send()  # type: ignore[operator]
    assert status in (302, 307)
    [span] = sdk.spans()
    assert (span.name, (span.attributes or {})["http.response.status_code"]) == ("GET /moved/{n}", status)


class BrokenSampler(Sampler):
    """A sampler of the application's that fails on every span (a bug of theirs must not skew our counts)."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        raise RuntimeError("the sampler is broken")

    def get_description(self) -> str:
        return "BrokenSampler"


def test_a_request_whose_span_cannot_start_is_not_left_in_flight() -> None:
    from examples.flask_app import create_app

    sdk = Sdk(BrokenSampler())
    try:
        with observe(sdk.observer):
            assert create_app().test_client().get("/tasks").status_code == 200  # the observer's failure is logged
        assert sdk.spans() == []
        assert sdk.metric_names().get("http.server.active_requests", [0]) == [0]
        assert not trace.get_current_span().get_span_context().is_valid  # no context left attached
    finally:
        sdk.tracer_provider.shutdown()
        sdk.meter_provider.shutdown()


class FailingOnEnd(SpanProcessor):
    """A span processor of the application's that raises when a span ends."""

    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("the processor is broken")


def test_the_context_is_left_and_the_request_counted_even_when_ending_the_span_raises(sdk: Sdk) -> None:
    sdk.tracer_provider.add_span_processor(FailingOnEnd())
    token = sdk.observer.request_started(_start())
    assert trace.get_current_span().get_span_context().is_valid
    with pytest.raises(RuntimeError, match="the processor is broken"):
        sdk.observer.request_finished(token, _end(200))
    assert not trace.get_current_span().get_span_context().is_valid
    names = sdk.metric_names()
    assert names["http.server.active_requests"] == [0]
    assert "http.server.request.duration" in names


def test_the_span_ends_when_the_response_was_out_not_when_the_observer_is_told(sdk: Sdk) -> None:
    token = sdk.observer.request_started(_start())
    time.sleep(0.05)  # the access log, a slow client closing the response: after the last byte
    told = time.time_ns()
    sdk.observer.request_finished(token, _end(200))  # the request took 2 ms
    [span] = sdk.spans()
    assert span.start_time is not None
    assert span.end_time is not None
    assert span.end_time - span.start_time == 2_000_000
    assert span.end_time < told
