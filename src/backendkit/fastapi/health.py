"""Health probes for FastAPI: a router to include, documented in OpenAPI as ``application/health+json``.

Example:
    >>> from fastapi import FastAPI
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.health import health_router
    >>> from backendkit.health import Health
    >>> app = FastAPI()
    >>> install(app)
    >>> app.include_router(health_router(Health()))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
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


def health_router(
    health: Health, *, paths: Mapping[str, str | None] | None = None, include_in_schema: bool = True
) -> APIRouter:
    """``/livez``, ``/readyz``, ``/startupz`` and ``/healthz`` (or ``paths``), for ``app.include_router``."""
    router = APIRouter(tags=["health"])
    for probe, path in probe_paths(paths).items():
        router.add_api_route(
            path,
            endpoint(health, probe),
            methods=["GET"],
            response_class=Response,
            responses=_responses(can_fail=probe in ("ready", "startup")),
            summary=_SUMMARIES[probe],
            include_in_schema=include_in_schema,
        )
    return router


__all__ = ["DrainOnShutdown", "health_router"]
