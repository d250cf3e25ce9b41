"""Health probes for FastAPI: a router to include, documented in OpenAPI as ``application/health+json``.

Example:
    >>> from fastapi import FastAPI
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.health import add_health_routes
    >>> from backendkit.health import Health
    >>> app = FastAPI()
    >>> install(app)
    >>> add_health_routes(app, Health())  # or app.include_router(health_router(health))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from backendkit.health import MEDIA_TYPE, Health, probe_paths
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


def add_health_routes(
    app: FastAPI | APIRouter,
    health: Health,
    *,
    paths: Mapping[str, str | None] | None = None,
    include_in_schema: bool = True,
) -> None:
    """Add ``/livez``, ``/readyz``, ``/startupz`` and ``/healthz`` (or ``paths``) to ``app`` itself.

    Routes of an included router cost FastAPI about 8 µs more per request than the
    app's own (benchmarks/health_bench.py): probes come often, so this is the cheaper way.
    """
    router = app.router if isinstance(app, FastAPI) else app
    for probe, path in probe_paths(paths).items():
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


def health_router(
    health: Health, *, paths: Mapping[str, str | None] | None = None, include_in_schema: bool = True
) -> APIRouter:
    """The probes as a router, for ``app.include_router`` (see :func:`add_health_routes`, a little cheaper)."""
    router = APIRouter()
    add_health_routes(router, health, paths=paths, include_in_schema=include_in_schema)
    return router


__all__ = ["DrainOnShutdown", "add_health_routes", "health_router"]
