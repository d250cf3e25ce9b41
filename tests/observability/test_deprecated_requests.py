"""Calls to deprecated routes and versions, counted: backendkit_http_deprecated_requests_total{method,route}."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.context import RequestFacts
from backendkit.observability import RequestEnd, RequestStart, observe
from backendkit.observability._core.catalog import DEPRECATED_REQUESTS, measure_deprecated, prometheus_name
from backendkit.observability.opentelemetry import OpenTelemetry
from backendkit.observability.prometheus import PrometheusMetrics

NAME = "backendkit_http_deprecated_requests_total"


def end(method: str = "GET", route: str | None = "/v1/tasks/{task_id}", **kwargs: bool) -> RequestEnd:
    return RequestEnd(
        method, route, 200, 0.01, None, 10, kwargs.get("excluded", False), False, kwargs.get("deprecated", True)
    )


def test_the_instrument() -> None:
    assert prometheus_name(DEPRECATED_REQUESTS) == NAME
    assert DEPRECATED_REQUESTS.labels == ("http.request.method", "http.route")


@pytest.mark.parametrize(
    ("request_end", "labels"),
    [
        (end(), ("GET", "/v1/tasks/{task_id}")),
        (end("BREW"), ("_OTHER", "/v1/tasks/{task_id}")),  # a method is never a new series
        (end(route=None), ("GET", "")),  # no route matched: the one empty route
    ],
)
def test_a_deprecated_answer_is_one_step(request_end: RequestEnd, labels: tuple[str, str]) -> None:
    [measurement] = measure_deprecated(request_end)
    assert (measurement.instrument, measurement.labels, measurement.value) == (DEPRECATED_REQUESTS, labels, 1)


def test_other_answers_count_nothing() -> None:
    assert measure_deprecated(end(deprecated=False)) == ()
    assert RequestEnd("GET", "/x", 200, 0.0, None, None, False, False).deprecated is False  # the default


def prometheus_request(metrics: PrometheusMetrics, request_end: RequestEnd) -> None:
    token = metrics.request_started(
        RequestStart(RequestFacts(method=request_end.method), "/v1/tasks/1", "http", None, None)
    )
    metrics.request_finished(token, request_end)


def test_prometheus_counts_deprecated_answers_by_method_and_route() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    for _ in range(3):
        prometheus_request(metrics, end())
    prometheus_request(metrics, end("DELETE"))
    prometheus_request(metrics, end(deprecated=False))
    prometheus_request(metrics, end(excluded=True))  # left out of request metrics: this one too
    sample = metrics.registry.get_sample_value
    assert sample(NAME, {"http_request_method": "GET", "http_route": "/v1/tasks/{task_id}"}) == 3
    assert sample(NAME, {"http_request_method": "DELETE", "http_route": "/v1/tasks/{task_id}"}) == 1
    assert f"# TYPE {NAME} counter" in metrics.render()[0].decode()


class Sdk:
    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer_provider = TracerProvider()
        self.observer = OpenTelemetry(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def points(self, name: str) -> list[tuple[dict[str, object], object]]:
        data = self.reader.get_metrics_data()
        found: list[tuple[dict[str, object], object]] = []
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found += [
                            (dict(p.attributes or {}), getattr(p, "value", None)) for p in metric.data.data_points
                        ]
        return found


@pytest.fixture
def sdk() -> Iterator[Sdk]:
    made = Sdk()
    try:
        yield made
    finally:
        made.tracer_provider.shutdown()
        made.meter_provider.shutdown()


def test_opentelemetry_counts_them_too(sdk: Sdk) -> None:
    start = RequestStart(RequestFacts(method="GET"), "/v1/tasks/1", "http", None, None)
    for request_end in (end(), end(), end(route=None), end(deprecated=False), end(excluded=True)):
        sdk.observer.request_finished(sdk.observer.request_started(start), request_end)
    points = sorted(sdk.points("backendkit.http.deprecated_requests"), key=repr)
    assert points == sorted(
        [
            ({"http.request.method": "GET", "http.route": "/v1/tasks/{task_id}"}, 2),
            ({"http.request.method": "GET"}, 1),  # no route matched: OpenTelemetry leaves the attribute out
        ],
        key=repr,
    )


def test_opentelemetry_counts_them_under_an_instrumentation_s_span(sdk: Sdk) -> None:
    # An instrumentation's server span is adopted and its request metrics are left to it; this counter is
    # backendkit's own, so it is recorded all the same.
    tracer = sdk.tracer_provider.get_tracer("an-instrumentation")
    start = RequestStart(RequestFacts(method="GET"), "/v1/tasks/1", "http", None, None)
    with tracer.start_as_current_span("GET /v1/tasks/{task_id}", kind=SpanKind.SERVER):
        assert trace.get_current_span().is_recording()
        sdk.observer.request_finished(sdk.observer.request_started(start), end())
    assert sdk.points("http.server.request.duration") == []
    assert sdk.points("backendkit.http.deprecated_requests") == [
        ({"http.request.method": "GET", "http.route": "/v1/tasks/{task_id}"}, 1)
    ]


def test_end_request_deprecated_feeds_the_counter_and_the_access_line(caplog: pytest.LogCaptureFixture) -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    state = AdapterState(Settings())
    labels = {"http_request_method": "GET", "http_route": "/v1/tasks/{task_id}"}
    with observe(metrics), caplog.at_level(logging.INFO, logger="backendkit.access"):
        for deprecated in (True, False, True):
            in_flight = state.start_request(None, method="GET", route="/v1/tasks/{task_id}", path="/v1/tasks/1")
            state.end_request(
                in_flight,
                path="/v1/tasks/1",
                query="",
                status=200,
                response_size=2,
                user_agent=None,
                deprecated=deprecated,
            )
    assert metrics.registry.get_sample_value(NAME, labels) == 2
    marked = [getattr(r, "deprecated", None) for r in caplog.records if r.name == "backendkit.access"]
    assert marked.count(True) == 2
