"""The tasks domain shared by the three example apps: model, store, and one domain error.

Nothing here knows about a web framework. ``DuplicateTitle`` is mapped to a 409
once, in the process-wide registry, and every framework answers the same way.
"""

from __future__ import annotations

import itertools
import os
import threading
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from backendkit.errors import Conflict, register
from backendkit.http import ETag, Preconditions
from backendkit.pagination import Page, PageRequest, Pagination, SortSpec


def _whole(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A whole number as JSON Schema has it: 3 and 3.0 are both integers; "3" is not (strict otherwise).
WholeNumber = Annotated[int, BeforeValidator(_whole)]


class TaskIn(BaseModel):
    """What a client may send to create a task."""

    model_config = ConfigDict(strict=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    priority: WholeNumber = Field(default=3, ge=1, le=5)


class Task(BaseModel):
    """A stored task; ``version`` counts its changes (its ETag is ``"v<version>"``)."""

    id: int
    title: str
    priority: int
    created_at: datetime
    version: int = 1

    @property
    def etag(self) -> ETag:
        """The task's entity tag, from its version: what ``If-Match`` must name to change it."""
        return ETag.for_version(self.version)


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

    def replace(self, task_id: int, data: TaskIn, preconditions: Preconditions) -> Task | None:
        """The task with ``data`` in place of its fields and a version one higher; None if there is no task.

        The preconditions are checked under the lock that guards the write, so two clients
        that read the same version cannot both change it: the second gets 412 (or 428 if it
        sent no ``If-Match``), never a silent overwrite.
        """
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            preconditions.check(etag=task.etag)
            if any(t.title == data.title and t.id != task_id for t in self._tasks.values()):
                raise DuplicateTitle(data.title)
            updated = task.model_copy(update={**data.model_dump(), "version": task.version + 1})
            self._tasks[task_id] = updated
            return updated

    def delete(self, task_id: int, preconditions: Preconditions | None = None) -> None:
        """Delete the task (nothing to do when there is none); an ``If-Match`` it sent must still hold."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return
            if preconditions is not None:
                preconditions.check(etag=task.etag)  # 412 when someone changed it since the client read it
            del self._tasks[task_id]

    def all(self) -> list[Task]:
        """A snapshot of every task."""
        with self._lock:
            return list(self._tasks.values())


MAX_BODY_SIZE = 1 << 20
"""The largest request body the examples accept (1 MiB): a larger one is 413 ``PAYLOAD_TOO_LARGE`` on all three."""

# An example's secret: set TASKS_CURSOR_SECRET in any real deployment (and keep it out of the code).
DEV_CURSOR_SECRET = "example-only-cursor-secret"  # noqa: S105

TASK_PAGES = Pagination(
    sort=SortSpec(["priority", "created_at", "title", "id"], default="-priority,id"),
    secrets=[os.environ.get("TASKS_CURSOR_SECRET", DEV_CURSOR_SECRET)],
    modes=["cursor", "page"],
    filters={"q": str, "priority": int},
    namespace="tasks",
)
"""``GET /tasks``: cursor mode by default (``limit``, ``cursor``, ``sort``), page mode with ``page``/``per_page``,
filters ``q`` (in the title, any case) and ``priority``."""


def list_tasks(store: TaskStore, request: PageRequest) -> tuple[Page[Task], list[dict[str, Any]]]:
    """One page of the store's tasks, filtered as asked, and its items as JSON-ready dicts."""
    tasks = store.all()
    q = request.filters.get("q")
    if q is not None:
        tasks = [t for t in tasks if q.casefold() in t.title.casefold()]
    priority = request.filters.get("priority")
    if priority is not None:
        tasks = [t for t in tasks if t.priority == priority]
    page = TASK_PAGES.paginate_sequence(tasks, request)
    return page, [task.model_dump(mode="json") for task in page.items]
