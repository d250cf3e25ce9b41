"""The OpenTelemetry observer on its own: redirects named for their route, failures, left-out requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from backendkit.context import RequestFacts
from backendkit.observability import RequestEnd, RequestStart, observe
from backendkit.observability.opentelemetry import OpenTelemetry


class Sdk:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
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


def _fastapi_redirect() -> int:
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse
    from fastapi.testclient import TestClient

    from backendkit.fastapi import install

    app = FastAPI()
    install(app)

    @app.get("/moved/{n:int}")
    def moved(n: int) -> RedirectResponse:
        return RedirectResponse("/tasks")

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
