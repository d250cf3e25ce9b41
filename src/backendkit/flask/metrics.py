"""The Prometheus scrape endpoint for Flask: a blueprint to register.

Example:
    >>> from flask import Flask
    >>> from backendkit.flask import BackendKit
    >>> from backendkit.flask.metrics import metrics_routes
    >>> from backendkit.observability.prometheus import PrometheusMetrics
    >>> app = Flask(__name__)
    >>> extension = BackendKit(app)
    >>> app.register_blueprint(metrics_routes(PrometheusMetrics()))

A scrape is left out of the request metrics (as health probes are).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from backendkit.observability._hub import hub
from backendkit.observability.prometheus import PrometheusMetrics, render


def metrics_routes(
    metrics: PrometheusMetrics | None = None, *, path: str = "/metrics", name: str = "backendkit_metrics"
) -> Blueprint:
    """``/metrics`` (or ``path``), GET and HEAD, as a blueprint to register.

    The same verb as ``metrics_routes`` on FastAPI, Starlette and Django, in Flask's own
    unit. Without ``metrics``, prometheus-client's default registry is served; in
    multiprocess mode, every process's metrics.
    """
    registry = metrics.registry if metrics is not None else None

    def metrics_view() -> Response:
        body, content_type = render(request.headers.get("Accept"), registry)
        return Response(body, content_type=content_type)

    hub.monitor(path)  # scrapes are left out of request metrics and traces (unless probes are observed)
    blueprint = Blueprint(name, __name__)
    blueprint.add_url_rule(path, endpoint="metrics", view_func=metrics_view, methods=["GET"])
    return blueprint


__all__ = ["metrics_routes"]
