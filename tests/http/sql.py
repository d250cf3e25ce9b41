"""The tables and engines the optimistic-locking tests share: SQLite and the local PostgreSQL, sync and async."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine
from sqlalchemy.pool import StaticPool

from tests.support.postgres import Schema


def tables(prefix: str = "t") -> tuple[MetaData, Table, Table]:
    """A table keyed by ``id`` with a ``version``, and one with a composite key and a ``revision``, named afresh."""
    metadata = MetaData()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    task = Table(
        f"{name}_task",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("title", String(200), nullable=False),
        Column("done", Integer, nullable=False, default=0),
        Column("version", Integer, nullable=False),
    )
    line = Table(
        f"{name}_line",
        metadata,
        Column("order_id", Integer, primary_key=True),
        Column("no", Integer, primary_key=True),
        Column("qty", Integer, nullable=False),
        Column("revision", Integer, nullable=False),
    )
    return metadata, task, line


def engine_options(kind: str, schema: Schema | None, *, pool_size: int = 5) -> tuple[str, dict[str, Any]]:
    """The URL and engine options of ``sqlite`` (one shared in-memory database) or ``postgresql`` (on ``schema``)."""
    if kind.startswith("sqlite"):
        url = "sqlite+aiosqlite://" if kind.endswith("async") else "sqlite://"
        return url, {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    assert schema is not None
    return schema.sqlalchemy_url(), {"connect_args": {"options": schema.options}, "pool_size": pool_size}


@contextmanager
def sync_engine(kind: str, schema: Schema | None, metadata: MetaData, **kwargs: Any) -> Iterator[Engine]:
    url, options = engine_options(kind, schema, **kwargs)
    engine = create_engine(url, **options)
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        metadata.drop_all(engine)
        engine.dispose()
