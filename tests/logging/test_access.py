"""Route templates and access entries, as every adapter writes them."""

from __future__ import annotations

import pytest

from backendkit.logging._core.access import ERROR, INFO, WARNING, access_entry, normalize_route


@pytest.mark.parametrize(
    ("template", "normalized"),
    [
        ("/tasks/{task_id:int}", "/tasks/{task_id}"),
        ("/tasks/{task_id}", "/tasks/{task_id}"),
        ("/tasks/<int:task_id>", "/tasks/{task_id}"),
        ("/files/<path:name>", "/files/{name}"),
        ("tasks/<int:task_id>", "/tasks/{task_id}"),
        ("/a/<x>/b/{y:path}", "/a/{x}/b/{y}"),
        ("", "/"),
        (None, None),
    ],
)
def test_normalize_route(template: str | None, normalized: str | None) -> None:
    assert normalize_route(template) == normalized


@pytest.mark.parametrize(
    ("status", "level"), [(200, INFO), (304, INFO), (404, WARNING), (429, WARNING), (500, ERROR), (503, ERROR)]
)
def test_levels_follow_the_status(status: int, level: int) -> None:
    entry = access_entry(
        method="GET", path="/", query="", status=status, duration_ms=1.0, response_size=0, user_agent=None
    )
    assert entry.level == level
    assert entry.message == f"GET / {status}"
