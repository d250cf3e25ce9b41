"""What both variants of stack_bench.py's apps share: the tasks, the token, the limits, the sinks.

The tasks API of ``examples/`` cut to the routes the benchmark drives, with every piece on:
request ids, errors, JSON access logs (formatted, then written to ``os.devnull``), one Redis
rate limit on every route (high enough never to refuse), HS256 JWT on ``GET /me``, a page of a
1,000-task list on ``GET /tasks`` and an idempotency key on ``POST /tasks`` (ASGI only).
"""

from __future__ import annotations

import itertools
import os
import time
from datetime import datetime, timezone
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field

REDIS_ENV = "STACK_BENCH_REDIS_URL"
SECRET = "stack-bench-hs256-secret-of-32-bytes!"
ISSUER = "https://auth.example.test/"
AUDIENCE = "tasks-api"
CURSOR_SECRET = "stack-bench-cursor-secret-0123456789"
LIMIT_PER_MINUTE = 10_000_000  # every request checked against Redis, none refused
TASKS_LISTED = 1_000


class TaskIn(BaseModel):
    """What a client sends to create a task."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    priority: int = Field(default=3, ge=1, le=5)


class Task(BaseModel):
    """A stored task."""

    id: int
    title: str
    priority: int
    created_at: datetime


CREATED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
TASKS = [Task(id=i, title=f"task {i}", priority=i % 5 + 1, created_at=CREATED_AT) for i in range(1, TASKS_LISTED + 1)]
"""The list ``GET /tasks`` pages, in id order (as rows come from a primary key)."""

_ids = itertools.count(TASKS_LISTED + 1)


def create(data: TaskIn) -> Task:
    """A new task (not added to the listed ones: the list ``GET /tasks`` pages stays 1,000 long)."""
    return Task(id=next(_ids), title=data.title, priority=data.priority, created_at=CREATED_AT)


def redis_url() -> str:
    return os.environ[REDIS_ENV]


def sink() -> IO[str]:
    """Where the log lines go once formatted."""
    return open(os.devnull, "w", encoding="utf-8")


def token() -> str:
    """An HS256 access token both variants accept: issuer, audience, subject, roles, an hour to live."""
    import jwt

    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "roles": ["viewer"],
        "scope": "tasks:read",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "stack-bench-token",
        "type": "access",  # what flask-jwt-extended reads
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")
