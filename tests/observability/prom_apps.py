"""The examples (metrics off) with a ``/metrics`` route on a registry of the test's own, on each framework."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry

from backendkit.observability import observe
from backendkit.observability.prometheus import PrometheusMetrics

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


@contextmanager
def observed() -> Iterator[PrometheusMetrics]:
    """PrometheusMetrics on a fresh registry, observed for the block."""
    metrics = PrometheusMetrics(CollectorRegistry())
    with observe(metrics):
        yield metrics


def fastapi_client(metrics: PrometheusMetrics) -> Any:
    from fastapi.testclient import TestClient

    from backendkit.fastapi.metrics import metrics_routes
    from examples.fastapi_app import create_app
    from tests.support.asgi import from_peer

    app = create_app()
    metrics_routes(metrics, app=app)
    return TestClient(from_peer(app, "127.0.0.1", 50000))


def flask_client(metrics: PrometheusMetrics) -> Any:
    from backendkit.flask.metrics import metrics_routes
    from examples.flask_app import create_app

    app = create_app()
    app.register_blueprint(metrics_routes(metrics))
    return app.test_client()


def series(metrics: PrometheusMetrics) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """Every sample's name and label set in the metrics' registry."""
    return {
        (sample.name, frozenset(sample.labels.items()))
        for family in metrics.registry.collect()
        for sample in family.samples
    }


def exemplars(body: str) -> list[str]:
    """The trace ids of the exemplars in an OpenMetrics body."""
    return re.findall(r'# \{trace_id="([0-9a-f]{32})"\}', body)
