"""SQLAlchemy harnesses: one table, four ways to reach it (SQLite and PostgreSQL, sync and asyncio)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from backendkit.pagination import Page, PageRequest
from backendkit.pagination.backends.sqlalchemy import apaginate, paginate
from tests.support.postgres import Schema

metadata = MetaData()
items = Table(
    "walk_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("a", Integer, nullable=True),
    Column("b", Text, nullable=True),
    Column("c", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=True),
    Column("n", BigInteger, nullable=True),  # the filter tests' 64-bit and decimal columns
    Column("d", Numeric(20, 4), nullable=True),
)

BACKENDS = ["sqlite", "sqlite-async", "postgresql", "postgresql-async"]


class Harness:
    """Load rows, then fetch pages of a statement through the sync or the async backend."""

    def __init__(self, name: str, sync: Any = None, asynchronous: Any = None) -> None:
        self.name = name
        self._sync = sync
        self._async = asynchronous
        self._loop = asyncio.new_event_loop() if asynchronous is not None else None

    def run(self, work: Callable[[Any], Any]) -> Any:
        """``work(session)``, sync or awaited."""
        if self._sync is not None:
            with Session(self._sync) as session:
                result = work(session)
                session.commit()
                return result

        async def go() -> Any:
            async with AsyncSession(self._async) as session:
                result = await work(session)
                await session.commit()
                return result

        assert self._loop is not None
        return self._loop.run_until_complete(go())

    def load(self, rows: list[dict[str, Any]]) -> None:
        def work(session: Any) -> Any:
            if self._sync is not None:
                session.execute(delete(items))
                if rows:
                    session.execute(insert(items), [{"at": None, **row} for row in rows])
                return None

            async def go() -> None:
                await session.execute(delete(items))
                if rows:
                    await session.execute(insert(items), [{"at": None, **row} for row in rows])

            return go()

        self.run(work)

    def page(self, request: PageRequest, statement: Any = None, **options: Any) -> Page[Any]:
        statement = select(items) if statement is None else statement
        if self._sync is not None:
            return self.run(lambda session: paginate(session, statement, request, **options))  # type: ignore[no-any-return]
        return self.run(lambda session: apaginate(session, statement, request, **options))  # type: ignore[no-any-return]

    def count(self) -> int:
        """Rows in the table."""
        statement = select(func.count()).select_from(items)
        return int(self.run(lambda session: session.scalar(statement)))

    def close(self) -> None:
        if self._sync is not None:
            self._sync.dispose()
        if self._async is not None:
            assert self._loop is not None
            self._loop.run_until_complete(self._async.dispose())
            self._loop.close()


@contextmanager
def harness(name: str, schema: Schema | None) -> Iterator[Harness]:
    """A harness with the table created, dropped again at the end."""
    if name.startswith("sqlite"):
        # One shared in-memory database per harness.
        url = "sqlite+aiosqlite://" if name.endswith("async") else "sqlite://"
        options: dict[str, Any] = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        assert schema is not None
        url = schema.sqlalchemy_url()
        options = {"connect_args": {"options": schema.options}}
    sync_engine = create_engine(url.replace("+aiosqlite", ""), **options) if not name.endswith("async") else None
    async_engine = create_async_engine(url, **options) if name.endswith("async") else None
    h = Harness(name, sync_engine, async_engine)
    if sync_engine is not None:
        metadata.create_all(sync_engine)
    else:
        assert h._loop is not None
        assert async_engine is not None

        async def create() -> None:
            async with async_engine.begin() as conn:
                await conn.run_sync(metadata.create_all)

        h._loop.run_until_complete(create())
    try:
        yield h
    finally:
        if sync_engine is not None:
            metadata.drop_all(sync_engine)
        else:
            assert h._loop is not None
            assert async_engine is not None

            async def drop() -> None:
                async with async_engine.begin() as conn:
                    await conn.run_sync(metadata.drop_all)

            h._loop.run_until_complete(drop())
        h.close()
