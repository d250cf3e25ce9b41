"""The tasks domain shared by the three example apps: model, store, and one domain error.

Nothing here knows about a web framework. ``DuplicateTitle`` is mapped to a 409
once, in the process-wide registry, and every framework answers the same way.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field

from backendkit.errors import Conflict, register


class TaskIn(BaseModel):
    """What a client may send to create a task."""

    model_config = ConfigDict(strict=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    priority: int = Field(default=3, ge=1, le=5)


class Task(BaseModel):
    """A stored task."""

    id: int
    title: str
    priority: int
    created_at: datetime


class DuplicateTitle(Exception):
    """A task with this title exists already."""


register(DuplicateTitle, lambda exc: Conflict("A task with this title already exists.", details={"field": "title"}))


class TaskStore:
    """Tasks in memory, safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._tasks: dict[int, Task] = {}

    def create(self, data: TaskIn) -> Task:
        with self._lock:
            if any(t.title == data.title for t in self._tasks.values()):
                raise DuplicateTitle(data.title)
            task = Task(id=next(self._ids), created_at=datetime.now(timezone.utc), **data.model_dump())
            self._tasks[task.id] = task
            return task

    def get(self, task_id: int) -> Task | None:
        return self._tasks.get(task_id)

    def delete(self, task_id: int) -> None:
        with self._lock:
            self._tasks.pop(task_id, None)
