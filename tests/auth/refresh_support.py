"""The refresh-token stores the tests run against, each on a real server and a namespace of its own.

:func:`open_store` makes one of each kind (``memory``, ``redis``, ``sqlite``,
``postgres``) for a test; the Redis kind needs the session's redis-server, the PostgreSQL
one the local server (the session's schema, tables of the test's own).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest

from backendkit.auth import MemoryRefreshStore
from tests.support.postgres import Schema

KINDS = [
    pytest.param("memory"),
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("sqlite"),
    pytest.param("postgres"),
]
# The stores processes share (the tests of those also need Redis for the revocation list every process shares).
SHARED_KINDS = [pytest.param("redis", marks=pytest.mark.redis), pytest.param("postgres", marks=pytest.mark.redis)]


def postgres_url(schema: Schema) -> str:
    """A SQLAlchemy URL (psycopg 3) whose connections put ``schema`` first on the search path."""
    return f"{schema.sqlalchemy_url()}?options={quote(schema.options, safe='')}"


def open_store(kind: str, request: pytest.FixtureRequest) -> Any:
    """A fresh store of ``kind``: its own Redis prefix, its own SQLite database or PostgreSQL tables."""
    name = uuid.uuid4().hex[:10]
    if kind == "memory":
        return MemoryRefreshStore()
    if kind == "redis":
        from backendkit.auth.redis import RedisRefreshStore

        server = request.getfixturevalue("redis_server")
        return RedisRefreshStore.from_url(server.url, prefix=f"test:{name}:")
    from backendkit.auth.sqlalchemy import SQLRefreshStore

    if kind == "sqlite":
        return SQLRefreshStore.from_url("sqlite://", create=True)
    assert kind == "postgres"
    schema = request.getfixturevalue("postgres_schema")
    return SQLRefreshStore.from_url(postgres_url(schema), create=True, table_prefix=f"r{name}_")


def close_store(store: Any) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()
