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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backendkit.health import Health
from backendkit.health._mounted import mounted_probe_paths


def endpoint(health: Health, probe: str) -> Callable[[Request], Awaitable[Response]]:
    """The async endpoint of one probe: readiness checks run on the loop, sync ones in threads."""

    async def probe_endpoint(request: Request) -> Response:
        report = await health.areport(probe)
        # The query from the scope: request.url builds a whole URL (3 µs) to read it.
        status, headers, body = health.response(report, request.scope.get("query_string", b"").decode("latin-1"))
        return Response(body, status_code=status, headers=dict(headers))

    probe_endpoint.__name__ = f"{probe}_probe"
    return probe_endpoint


def health_routes(health: Health, *, paths: Mapping[str, str | None] | None = None) -> list[Route]:
    """``/livez``, ``/readyz``, ``/startupz`` and ``/healthz`` (or ``paths``; ``None`` leaves one out), GET and HEAD."""
    return [Route(path, endpoint(health, probe), methods=["GET"]) for probe, path in mounted_probe_paths(paths).items()]


class DrainOnShutdown:
    """ASGI middleware: readiness answers 503 from the shutdown signal on, while liveness stays 200.

    At lifespan startup (when the server has installed its signal handlers) it chains
    ``SIGTERM`` and ``SIGINT`` so that the signal drains ``health`` first; at lifespan
    shutdown it drains too, for servers that send no signal. With uvicorn, requests still
    in flight after the signal see readiness 503 (uvicorn itself stops accepting
    connections and closes idle ones). ``app.add_middleware(DrainOnShutdown, health=health)``.
    """

    def __init__(self, app: ASGIApp, *, health: Health) -> None:
        self.app = app
        self.health = health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        health = self.health

        async def watched() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                health.drain_on_signals()
            elif message["type"] == "lifespan.shutdown":
                health.drain()
            return message

        await self.app(scope, watched, send)


__all__ = ["DrainOnShutdown", "endpoint", "health_routes"]
