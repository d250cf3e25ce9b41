"""HTTP semantics shared by the three example apps: the API versions, and a retired route.

``/v1/tasks/{id}`` and ``/v2/tasks/{id}`` serve the two representations of a task; version 1
is deprecated (its answers carry ``Deprecation``, ``Sunset`` and ``Link``), and a path naming
another version (``/v9/...``) is a 404 ``UNSUPPORTED_VERSION`` listing the served ones.
``GET /legacy/tasks`` is past its sunset: 410 ``GONE``, with the same headers.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from backendkit.http import ConditionalRequests, Deprecation, Versioning
from examples._tasks import Task

GUIDE = "https://tasks.example.com/docs/migrate-to-v2"

V1 = Deprecation(
    datetime(2026, 6, 1, tzinfo=timezone.utc),
    sunset=datetime(2027, 6, 1, tzinfo=timezone.utc),
    link=GUIDE,
)
"""Version 1: deprecated on 1 June 2026, answering until 1 June 2027 (and after: the example does not retire it)."""

VERSIONS = Versioning({"1": V1, "2": None}, source="path")
"""The examples' API versions, read from the path's first segment."""

LEGACY = Deprecation(
    datetime(2025, 1, 1, tzinfo=timezone.utc),
    sunset=datetime(2026, 1, 1, tzinfo=timezone.utc),
    link=GUIDE,
    gone_after_sunset=True,
)
"""``GET /legacy/tasks``: retired on 1 January 2026, so 410 ``GONE``."""

CONDITIONAL = ConditionalRequests()
"""Every 200 GET/HEAD answer tagged (an ETag from its bytes, unless the route set one) and answered 304
when the client's copy is current."""


def task_v1(task: Task) -> dict[str, Any]:
    """A task as version 1 had it: no creation time, no version."""
    return {"id": task.id, "title": task.title, "priority": task.priority}
