"""The Prometheus scrape endpoint for Starlette (and FastAPI): a route to mount.

Example:
    >>> from starlette.applications import Starlette
    >>> from backendkit.observability import observe
    >>> from backendkit.observability.prometheus import PrometheusMetrics
    >>> from backendkit.starlette.metrics import metrics_routes
    >>> metrics = PrometheusMetrics()
    >>> app = Starlette(routes=metrics_routes(metrics))
    >>> with observe(metrics):
    ...     pass  # requests to app are measured here

A scrape is left out of the request metrics (as health probes are). To keep the
metrics off the public listener, serve them on a port of their own instead:
:func:`backendkit.observability.prometheus.start_metrics_server`.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backendkit.observability._hub import hub
from backendkit.observability.prometheus import PrometheusMetrics, render


def endpoint(metrics: PrometheusMetrics | None) -> Callable[[Request], Response]:
    """The scrape endpoint: a sync one, so Starlette renders (and reads multiprocess files) in a thread."""
    registry = metrics.registry if metrics is not None else None

    def metrics_endpoint(request: Request) -> Response:
        body, content_type = render(request.headers.get("accept"), registry)
        return Response(body, headers={"Content-Type": content_type})

    return metrics_endpoint


def metrics_routes(metrics: PrometheusMetrics | None = None, *, path: str = "/metrics") -> list[Route]:
    """``/metrics`` (or ``path``), GET and HEAD: ``metrics``' registry, or every process's in multiprocess mode.

    Without ``metrics``, prometheus-client's default registry is served.
    """
    hub.monitor(path)  # scrapes are left out of request metrics and traces (unless probes are observed)
    return [Route(path, endpoint(metrics), methods=["GET"])]


__all__ = ["endpoint", "metrics_routes"]
