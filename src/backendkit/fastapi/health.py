"""Health probes for FastAPI: a router to include, documented in OpenAPI as ``application/health+json``.

Example:
    >>> from fastapi import FastAPI
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.health import health_routes
    >>> from backendkit.health import Health
    >>> app = FastAPI()
    >>> install(app)
    >>> _ = health_routes(Health(), app=app)  # onto the app itself, or app.include_router(health_routes(health))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from backendkit._deprecation import renamed
from backendkit.health import MEDIA_TYPE, Health
from backendkit.health._mounted import mounted_probe_paths
from backendkit.starlette.health import DrainOnShutdown, endpoint

_CHECK = {
    "type": "object",
    "required": ["status", "time"],
    "properties": {
        "status": {"type": "string", "enum": ["pass", "warn", "fail"]},
        "time": {"type": "string", "format": "date-time"},
        "componentId": {"type": "string"},
        "componentType": {"type": "string"},
        "observedValue": {},
        "observedUnit": {"type": "string"},
        "output": {"type": "string"},
        "critical": {"type": "boolean"},
    },
}
_DOCUMENT = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["pass", "warn", "fail"]},
        "checks": {"type": "object", "additionalProperties": {"type": "array", "items": _CHECK}},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}
_SUMMARIES = {
    "live": "Liveness: the process answers",
    "ready": "Readiness: every readiness check",
    "startup": "Startup: every startup check has passed",
    "healthz": "Liveness (the old name)",
}


def _responses(can_fail: bool) -> dict[int | str, dict[str, Any]]:
    content = {MEDIA_TYPE: {"schema": _DOCUMENT}}
    answers: dict[int | str, dict[str, Any]] = {200: {"description": "pass or warn", "content": content}}
    if can_fail:
        answers[503] = {"description": "fail (or draining, or still starting)", "content": content}
    return answers


def _add_health_routes(
    app: FastAPI | APIRouter,
    health: Health,
    *,
    paths: Mapping[str, str | None] | None = None,
    include_in_schema: bool = True,
) -> None:
    """Add the probes to ``app`` itself (the deprecated ``add_health_routes``: ``health_routes(health, app=app)``)."""
    router = app.router if isinstance(app, FastAPI) else app
    for probe, path in mounted_probe_paths(paths).items():
        router.add_api_route(
            path,
            endpoint(health, probe),
            methods=["GET"],
            response_class=Response,
            responses=_responses(can_fail=probe in ("ready", "startup")),
            summary=_SUMMARIES[probe],
            include_in_schema=include_in_schema,
            tags=["health"],
        )
        # HEAD too, as Starlette's routes, Flask and Django answer it, with or without install()
        # (which makes every GET route answer HEAD and keeps a route's own HEAD). Probes from
        # load balancers often use HEAD; it stays out of the OpenAPI document, as install()'s do.
        router.add_api_route(
            path, endpoint(health, probe), methods=["HEAD"], response_class=Response, include_in_schema=False
        )


def health_routes(
    health: Health,
    *,
    paths: Mapping[str, str | None] | None = None,
    include_in_schema: bool = True,
    app: FastAPI | APIRouter | None = None,
) -> APIRouter:
    """``/livez``, ``/readyz``, ``/startupz`` and ``/healthz`` (or ``paths``), GET and HEAD, as a router.

    The same verb as ``health_routes`` on Starlette (routes), Flask (a blueprint) and Django
    (URL patterns): ``app.include_router(health_routes(health))``. With ``app=``, the routes
    are added to that app (or router) itself, which is returned: FastAPI 0.165 keeps an
    included router whole, and its routes cost about 8 µs more per request
    (benchmarks/health_bench.py), which probes, that come often, need not pay.
    """
    router = APIRouter() if app is None else app.router if isinstance(app, FastAPI) else app
    _add_health_routes(router, health, paths=paths, include_in_schema=include_in_schema)
    return router


__all__ = ["DrainOnShutdown", "health_routes"]
__getattr__ = renamed(
    __name__,
    {
        "add_health_routes": ("health_routes(health, app=app)", _add_health_routes),
        "health_router": ("health_routes", health_routes),
    },
)
