"""Health probes for Django: URL patterns to include, sync views by default (async ones for ASGI).

Example::

    from backendkit.django.health import health_routes
    from myproject.health import health  # a backendkit.health.Health

    urlpatterns = [*health_routes(health), ...]  # or health_routes(health, asynchronous=True) under ASGI
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe

from backendkit._deprecation import renamed
from backendkit.health import Health, Report
from backendkit.health._mounted import mounted_probe_paths


def _respond(health: Health, report: Report, request: HttpRequest) -> HttpResponse:
    status, headers, body = health.response(report, request.META.get("QUERY_STRING", ""))
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    return response


def _view(health: Health, probe: str, asynchronous: bool) -> Callable[..., Any]:
    if asynchronous:

        async def probe_view_async(request: HttpRequest) -> HttpResponse:
            return _respond(health, await health.areport(probe), request)

        return require_safe(probe_view_async)

    def probe_view(request: HttpRequest) -> HttpResponse:
        return _respond(health, health.report(probe), request)

    return require_safe(probe_view)


def health_routes(
    health: Health, *, paths: Mapping[str, str | None] | None = None, asynchronous: bool = False
) -> list[URLPattern]:
    """``livez``, ``readyz``, ``startupz`` and ``healthz`` (or ``paths``), answering GET and HEAD.

    Sync views (the default) run sync checks on the health object's thread pool and
    async checks on its one background loop: nothing starts an event loop per
    request under WSGI. ``asynchronous=True`` serves async views, for ASGI.
    """
    return [
        path(route.lstrip("/"), _view(health, probe, asynchronous), name=f"backendkit-{probe}")
        for probe, route in mounted_probe_paths(paths).items()
    ]


__all__ = ["health_routes"]
__getattr__ = renamed(__name__, {"health_urls": ("health_routes", health_routes)})
