"""Health: liveness, readiness and startup checks, reported as ``application/health+json``.

A check is a plain callable, sync or async, that returns a :class:`Result` (or
``None``/``True``/``False``) or raises. :class:`Health` runs them concurrently, each
cut at its own timeout, caches the report, and answers readiness with 503 while
startup checks have not passed or the application drains. The adapters serve it
at ``/livez``, ``/readyz``, ``/startupz`` and ``/healthz``.

Example:
    >>> from backendkit.health import Health, Result
    >>> health = Health()
    >>> @health.check("queue:depth", critical=False)
    ... def queue_depth():
    ...     return Result.warn("backlog", 5000, "messages")
    >>> health.ready().status
    'warn'
"""

from __future__ import annotations

from backendkit.health._core.http import DEFAULT_PATHS, PROBES, probe_paths
from backendkit.health._core.report import (
    MEDIA_TYPE,
    RAISED,
    STILL_RUNNING,
    TIMED_OUT,
    CheckInfo,
    Outcome,
    Report,
    Result,
    Status,
)
from backendkit.health._core.run import CheckFunction
from backendkit.health._health import Health

__all__ = [
    "DEFAULT_PATHS",
    "MEDIA_TYPE",
    "PROBES",
    "RAISED",
    "STILL_RUNNING",
    "TIMED_OUT",
    "CheckFunction",
    "CheckInfo",
    "Health",
    "Outcome",
    "Report",
    "Result",
    "Status",
    "probe_paths",
]
