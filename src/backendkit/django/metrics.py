"""The Prometheus scrape endpoint for Django: URL patterns to include (a sync view, under WSGI and ASGI).

Example::

    from backendkit.django.metrics import metrics_routes
    from myproject.observability import metrics  # a PrometheusMetrics, given to observe()

    urlpatterns = [*metrics_routes(metrics), ...]

A scrape is left out of the request metrics (as health probes are).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.urls import path as url_path
from django.views.decorators.http import require_safe

from backendkit.observability._hub import hub
from backendkit.observability.prometheus import PrometheusMetrics, render


def _view(metrics: PrometheusMetrics | None) -> Callable[..., Any]:
    registry = metrics.registry if metrics is not None else None

    def metrics_view(request: HttpRequest) -> HttpResponse:
        body, content_type = render(request.META.get("HTTP_ACCEPT"), registry)
        return HttpResponse(body, content_type=content_type)

    return require_safe(metrics_view)


def metrics_routes(metrics: PrometheusMetrics | None = None, *, path: str = "/metrics") -> list[URLPattern]:
    """``metrics`` (or ``path``), answering GET and HEAD.

    Without ``metrics``, prometheus-client's default registry is served; in
    multiprocess mode, every process's metrics. Under ASGI, Django runs the sync
    view in a thread (reading multiprocess files stays off the event loop).
    """
    hub.monitor("/" + path.lstrip("/"))  # scrapes are left out of request metrics and traces (unless probes are)
    return [url_path(path.lstrip("/"), _view(metrics), name="backendkit-metrics")]


__all__ = ["metrics_routes"]
