"""PrometheusMetrics on a registry of its own: the catalogue's metrics, exemplars, reuse, and failures contained."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from backendkit.context import RequestFacts, parse_traceparent
from backendkit.errors import ConfigurationError
from backendkit.observability import INSTRUMENTS, observe, prometheus_name
from backendkit.observability._core.events import BreakerChanged, RateLimitDecided, RequestEnd, RequestStart
from backendkit.observability.prometheus import PrometheusMetrics
from tests.observability.prom_apps import OPENMETRICS, exemplars, fastapi_client, flask_client, observed

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def value(metrics: PrometheusMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def request(metrics: PrometheusMetrics, facts: RequestFacts, *, status: int = 200, excluded: bool = False) -> None:
    token = metrics.request_started(RequestStart(facts, "/tasks/7", "http", None, None))
    end = RequestEnd(facts.method or "", "/tasks/{task_id}", status, 0.02, None, 10, excluded, False)
    metrics.request_finished(token, end)


def test_one_metric_per_instrument_named_by_the_catalogue() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    body = metrics.render()[0].decode()
    for instrument in INSTRUMENTS:
        kind = {"counter": "counter", "histogram": "histogram", "updown": "gauge"}[instrument.kind]
        assert f"# TYPE {prometheus_name(instrument)} {kind}\n" in body  # (the text format's counter: _total)


def test_events_and_requests_are_recorded_as_the_catalogue_says() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    metrics.record(RateLimitDecided("5-per-60s", "limited", 0.001))
    metrics.record(BreakerChanged("ratelimit", open=True))
    metrics.record(BreakerChanged("ratelimit", open=True))
    metrics.record(BreakerChanged("ratelimit", open=False))
    request(metrics, RequestFacts(method="BREW"), status=405)
    request(metrics, RequestFacts(method="GET"), excluded=True)  # a probe: in flight, then not measured

    assert value(metrics, "backendkit_ratelimit_decisions_total", policy="5-per-60s", outcome="limited") == 1
    assert value(metrics, "backendkit_store_breakers_open", store="ratelimit") == 1
    labels = {"http_request_method": "_OTHER", "http_route": "/tasks/{task_id}", "http_response_status_code": "405"}
    assert value(metrics, "http_server_request_duration_seconds_count", **labels) == 1
    assert value(metrics, "http_server_request_duration_seconds_bucket", le="0.025", **labels) == 1
    assert value(metrics, "http_server_request_duration_seconds_bucket", le="0.01", **labels) == 0
    assert value(metrics, "http_server_response_body_size_bytes_sum", **labels) == 10
    assert value(metrics, "http_server_request_body_size_bytes_count", **labels) is None  # size not known
    probe = {**labels, "http_request_method": "GET", "http_response_status_code": "200"}
    assert value(metrics, "http_server_request_duration_seconds_count", **probe) is None
    assert value(metrics, "http_server_active_requests", http_request_method="GET") == 0
    assert value(metrics, "http_server_active_requests", http_request_method="_OTHER") == 0


def test_in_flight_while_the_request_runs() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    token = metrics.request_started(RequestStart(RequestFacts(method="POST"), "/tasks", "http", 12, None))
    assert value(metrics, "http_server_active_requests", http_request_method="POST") == 1
    metrics.request_finished(token, RequestEnd("POST", "/tasks", 201, 0.1, 12, 30, False, False))
    assert value(metrics, "http_server_active_requests", http_request_method="POST") == 0


def test_a_second_observer_on_the_same_registry_reuses_its_metrics() -> None:
    registry = CollectorRegistry()
    first, second = PrometheusMetrics(registry), PrometheusMetrics(registry)
    first.record(RateLimitDecided("p", "allowed", 0.0))
    second.record(RateLimitDecided("p", "allowed", 0.0))
    assert value(first, "backendkit_ratelimit_decisions_total", policy="p", outcome="allowed") == 2


def test_a_registry_with_a_foreign_metric_of_the_same_name_is_refused_clearly() -> None:
    registry = CollectorRegistry()
    Counter("backendkit_pagination_pages", "someone else's", registry=registry)
    with pytest.raises(ConfigurationError, match="a registry of its own"):
        PrometheusMetrics(registry)
    assert [f.name for f in registry.collect()] == ["backendkit_pagination_pages"]  # nothing half-registered


def test_a_multiprocess_directory_that_does_not_exist_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/backendkit-multiproc")
    with pytest.raises(ConfigurationError, match="not a directory"):
        PrometheusMetrics(CollectorRegistry())


def test_a_multiprocess_directory_set_after_prometheus_client_was_imported_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # This process imported prometheus_client without the variable: its values live in memory, files are never written.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(ConfigurationError, match="before anything imports prometheus_client") as refused:
        PrometheusMetrics(CollectorRegistry())
    assert "in the server's environment" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_the_exemplar_is_the_sampled_trace_of_the_request() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    request(metrics, RequestFacts(method="GET", trace=parse_traceparent(f"00-{TRACE}-00f067aa0ba902b7-01")))
    request(metrics, RequestFacts(method="PUT", trace=parse_traceparent(f"00-{'1' * 32}-00f067aa0ba902b7-00")))
    request(metrics, RequestFacts(method="DELETE"))
    body = metrics.render(OPENMETRICS)[0].decode()
    assert exemplars(body) == [TRACE]  # the unsampled trace and the request without one give none
    list(text_string_to_metric_families(body))  # and the body is OpenMetrics, exemplar included
    assert "# {" not in metrics.render("text/plain")[0].decode()  # the text format has no exemplars


def test_the_active_opentelemetry_span_is_preferred() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    metrics = PrometheusMetrics(CollectorRegistry())
    with tracer.start_as_current_span("request") as span:
        facts = RequestFacts(method="GET", trace=parse_traceparent(f"00-{TRACE}-00f067aa0ba902b7-01"))
        request(metrics, facts)
    [found] = exemplars(metrics.render(OPENMETRICS)[0].decode())
    assert found == f"{span.get_span_context().trace_id:032x}" != TRACE


def test_an_exemplar_reaches_the_openmetrics_scrape_over_a_framework() -> None:
    with observed() as metrics:
        client = fastapi_client(metrics)
        assert client.get("/tasks", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}).status_code == 200
        scrape = client.get("/metrics", headers={"Accept": OPENMETRICS})
    assert scrape.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert exemplars(scrape.text) == [TRACE]


class Broken:
    """An observer that fails at every call."""

    def request_started(self, start: RequestStart) -> object:
        raise RuntimeError("broken start")

    def request_finished(self, token: object, end: RequestEnd) -> None:
        raise RuntimeError("broken end")

    def record(self, event: object) -> None:
        raise RuntimeError("broken record")


def test_a_failing_observer_fails_no_request_and_the_metrics_still_count(caplog: pytest.LogCaptureFixture) -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    with observe(Broken(), metrics), caplog.at_level(logging.ERROR, "backendkit.observability"):
        client = flask_client(metrics)
        statuses = [client.get(path).status_code for path in ("/tasks", "/limited", "/nope")]
    assert statuses == [200, 200, 404]
    labels = {"http_request_method": "GET", "http_route": "/limited", "http_response_status_code": "200"}
    assert value(metrics, "http_server_request_duration_seconds_count", **labels) == 1
    assert value(metrics, "backendkit_ratelimit_decisions_total", policy="5-per-60s", outcome="allowed") == 1
    assert any("broken" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


class FailsToStart(PrometheusMetrics):
    """The real observer, but its ``request_started`` fails (the hub then gives ``request_finished`` a None token)."""

    def request_started(self, start: RequestStart) -> Any:
        raise RuntimeError("start failed")


def test_a_failed_start_is_logged_once_and_leaves_the_in_flight_gauge_alone(caplog: pytest.LogCaptureFixture) -> None:
    metrics = FailsToStart(CollectorRegistry())
    with observe(metrics), caplog.at_level(logging.ERROR, "backendkit.observability"):
        client = flask_client(metrics)
        assert [client.get("/tasks").status_code, client.get("/tasks").status_code] == [200, 200]
    failures = [record.getMessage() for record in caplog.records if record.exc_info]
    assert len(failures) == 1  # the start's, once: no TypeError from unpacking the None token at the end
    assert "in request_started" in failures[0]
    assert value(metrics, "http_server_active_requests", http_request_method="GET") is None  # never incremented...
    assert "http_server_active_requests{" not in metrics.render()[0].decode()  # ...so never decremented below 0
    metrics.request_finished(None, RequestEnd("GET", "/tasks", 200, 0.01, None, 2, False, False))
    assert "http_server_request_duration_seconds_count{" not in metrics.render()[0].decode()


def test_a_scrape_and_the_probes_are_left_out_of_the_request_metrics() -> None:
    with observed() as metrics:
        client = flask_client(metrics)
        for path in ("/metrics", "/livez", "/metrics"):
            assert client.get(path).status_code == 200
    assert value(metrics, "http_server_request_duration_seconds_count", http_request_method="GET",
                 http_route="/metrics", http_response_status_code="200") is None  # fmt: skip
    assert "http_server_request_duration_seconds_count{" not in metrics.render()[0].decode()
    with observe(metrics, probes=True):
        client.get("/metrics")
    labels = {"http_request_method": "GET", "http_route": "/metrics", "http_response_status_code": "200"}
    assert value(metrics, "http_server_request_duration_seconds_count", **labels) == 1
