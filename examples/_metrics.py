"""``BACKENDKIT_EXAMPLE_METRICS=1``: the examples measure their requests and serve ``GET /metrics`` (off otherwise).

The metrics are Prometheus's, through backendkit's observer. Under several worker
processes (``gunicorn -w 2``, ``uvicorn --workers 2``), set ``PROMETHEUS_MULTIPROC_DIR``
to an empty directory before the server starts: every scrape then reports all the
workers (examples/gunicorn_conf.py drops a dead worker's gauges). On a real
deployment, keep ``/metrics`` off the public listener: ``start_metrics_server``
serves them on a port of their own.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backendkit.observability.prometheus import PrometheusMetrics


def enabled() -> bool:
    """Whether ``BACKENDKIT_EXAMPLE_METRICS=1``."""
    return os.environ.get("BACKENDKIT_EXAMPLE_METRICS") == "1"


def installed() -> PrometheusMetrics | None:
    """The metrics, observed from now on (``None`` when off); other observers stay installed.

    An app built again (tests build many) replaces the metrics observer it installed
    before instead of adding a second one: the requests are counted once.
    """
    if not enabled():
        return None
    from backendkit.observability import observe, observers
    from backendkit.observability.prometheus import PrometheusMetrics

    metrics = PrometheusMetrics()
    others = [observer for observer in observers() if not isinstance(observer, PrometheusMetrics)]  # _tracing's
    observe(*others, metrics)
    return metrics


def fastapi(app: Any) -> None:
    """``GET /metrics`` on the FastAPI example, when on (in its OpenAPI document: ``200``, text)."""
    if (metrics := installed()) is not None:
        from backendkit.fastapi.metrics import metrics_routes

        metrics_routes(metrics, app=app)


def flask(app: Any) -> None:
    """``GET /metrics`` on the Flask example, when on."""
    if (metrics := installed()) is not None:
        from backendkit.flask.metrics import metrics_routes

        app.register_blueprint(metrics_routes(metrics))


def django_routes(metrics: PrometheusMetrics | None) -> list[Any]:
    """The Django example's ``metrics`` URL pattern for what settings.py installed (none when off).

    Django loads the URLconf at the first request, too late to observe that one:
    its settings install the metrics at start-up.
    """
    if metrics is None:
        return []
    from backendkit.django.metrics import metrics_routes

    return metrics_routes(metrics)
