"""The Prometheus scrape endpoint for FastAPI: a router to include, documented in OpenAPI as text.

Example:
    >>> from fastapi import FastAPI
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.metrics import metrics_routes
    >>> from backendkit.observability.prometheus import PrometheusMetrics
    >>> app = FastAPI()
    >>> install(app)
    >>> _ = metrics_routes(PrometheusMetrics(), app=app)  # onto the app itself, or app.include_router(...)

The operation answers ``200`` in the text format (``text/plain``) or, when the
scraper asks for it, OpenMetrics; ``include_in_schema=False`` leaves it out of
the document. A scrape is left out of the request metrics (as health probes are).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from backendkit.observability._hub import hub
from backendkit.observability.prometheus import PrometheusMetrics
from backendkit.starlette.metrics import endpoint

_EXPOSITION = {"type": "string"}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The metrics: Prometheus's text format, or OpenMetrics when the Accept header asks for it",
        "content": {"text/plain": {"schema": _EXPOSITION}, "application/openmetrics-text": {"schema": _EXPOSITION}},
    }
}


def metrics_routes(
    metrics: PrometheusMetrics | None = None,
    *,
    path: str = "/metrics",
    include_in_schema: bool = True,
    app: FastAPI | APIRouter | None = None,
) -> APIRouter:
    """``/metrics`` (or ``path``), GET and HEAD, as a router (or added to ``app`` itself, which is returned).

    The same verb as ``metrics_routes`` on Starlette (routes), Flask (a blueprint) and
    Django (URL patterns): ``app.include_router(metrics_routes(metrics))``. Without
    ``metrics``, prometheus-client's default registry is served; in multiprocess mode,
    every process's metrics.
    """
    router = APIRouter() if app is None else app.router if isinstance(app, FastAPI) else app
    hub.monitor(path)  # scrapes are left out of request metrics and traces (unless probes are observed)
    scrape = endpoint(metrics)
    router.add_api_route(
        path,
        scrape,
        methods=["GET"],
        response_class=Response,
        responses=_RESPONSES,
        summary="Prometheus metrics",
        include_in_schema=include_in_schema,
        tags=["metrics"],
    )
    router.add_api_route(path, scrape, methods=["HEAD"], response_class=Response, include_in_schema=False)
    return router


__all__ = ["metrics_routes"]
