"""Health probes for Starlette (and FastAPI): routes to mount, served asynchronously.

Example:
    >>> from starlette.applications import Starlette
    >>> from backendkit.health import Health
    >>> from backendkit.starlette.health import health_routes
    >>> app = Starlette(routes=health_routes(Health()))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backendkit.health import Health, probe_paths


def endpoint(health: Health, probe: str) -> Callable[[Request], Awaitable[Response]]:
    """The async endpoint of one probe: readiness checks run on the loop, sync ones in threads."""

    async def probe_endpoint(request: Request) -> Response:
        report = await health.areport(probe)
        status, headers, body = health.response(report, request.url.query)
        return Response(body, status_code=status, headers=dict(headers))

    probe_endpoint.__name__ = f"{probe}_probe"
    return probe_endpoint


def health_routes(health: Health, *, paths: Mapping[str, str | None] | None = None) -> list[Route]:
    """``/livez``, ``/readyz``, ``/startupz`` and ``/healthz`` (or ``paths``; ``None`` leaves one out), GET and HEAD."""
    return [Route(path, endpoint(health, probe), methods=["GET"]) for probe, path in probe_paths(paths).items()]


__all__ = ["endpoint", "health_routes"]
