"""update_if_version on SQLAlchemy: one guarded UPDATE, then 404 or 412 with the current tag; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, event, insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session

from backendkit.errors import NotFound, PreconditionFailed
from backendkit.http import Conditions, ETag, Preconditions
from backendkit.http.sqlalchemy import aupdate_if_version, update_if_version
from tests.http.sql import engine_options, sync_engine, tables

KINDS = ["sqlite", "postgresql"]


@pytest.fixture(params=KINDS)
def db(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, Table, Table]]:
    schema = request.getfixturevalue("postgres_schema") if request.param == "postgresql" else None
    metadata, task, line = tables()
    with sync_engine(request.param, schema, metadata) as engine:
        with engine.begin() as conn:
            conn.execute(insert(task), [{"id": 1, "title": "draft", "done": 0, "version": 1}])
            conn.execute(insert(line), [{"order_id": 7, "no": 1, "qty": 2, "revision": 5}])
        yield engine, task, line


def row(engine: Engine, table: Table, **key: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(table).filter_by(**key)).one_or_none()


def test_the_expected_version_updates_and_counts_one_more(db: tuple[Engine, Table, Table]) -> None:
    engine, task, _ = db
    with engine.begin() as conn:
        assert update_if_version(conn, task, 1, "1", {"title": "final", "done": 1}) == 2
    assert tuple(row(engine, task, id=1)) == (1, "final", 1, 2)
    with engine.begin() as conn:
        assert update_if_version(conn, task, 1, 2, {"done": 0}) == 3  # an int does as well


def test_a_stale_version_is_412_with_the_current_tag_and_changes_nothing(db: tuple[Engine, Table, Table]) -> None:
    engine, task, _ = db
    with engine.begin() as conn:
        update_if_version(conn, task, 1, "1", {"title": "second"})
    with pytest.raises(PreconditionFailed) as refused, engine.begin() as conn:
        update_if_version(conn, task, 1, "1", {"title": "lost update"})
    assert refused.value.status == 412
    assert refused.value.headers == {"ETag": '"v2"'}
    assert refused.value.details == {"etag": '"v2"'}
    assert tuple(row(engine, task, id=1)) == (1, "second", 0, 2)


def test_no_row_is_404(db: tuple[Engine, Table, Table]) -> None:
    engine, task, _ = db
    with pytest.raises(NotFound) as missing, engine.begin() as conn:
        update_if_version(conn, task, 99, "1", {"title": "x"})
    assert missing.value.status == 404
    with pytest.raises(NotFound), engine.begin() as conn:
        update_if_version(conn, task, 99, "not-a-version", {"title": "x"})


@pytest.mark.parametrize(
    "version", [None, "", "abc", "-1", "1.0", " 1", "\u0661", "9" * 19, "9" * 40, 2**63, -1, "99999999999999999999"]
)
def test_what_names_no_version_is_a_412_never_a_500(db: tuple[Engine, Table, Table], version: Any) -> None:
    engine, task, _ = db
    with pytest.raises(PreconditionFailed) as refused, engine.begin() as conn:
        update_if_version(conn, task, 1, version, {"title": "x"})
    assert refused.value.headers == {"ETag": '"v1"'}
    assert row(engine, task, id=1).version == 1


def test_a_composite_key_and_another_version_column(db: tuple[Engine, Table, Table]) -> None:
    engine, _, line = db
    key = {"order_id": 7, "no": 1}
    with engine.begin() as conn:
        assert update_if_version(conn, line, key, "5", {"qty": 3}, version_column="revision") == 6
    with pytest.raises(PreconditionFailed) as refused, engine.begin() as conn:
        update_if_version(conn, line, key, "5", {"qty": 4}, version_column="revision")
    assert refused.value.headers == {"ETag": '"v6"'}
    with pytest.raises(NotFound), engine.begin() as conn:
        update_if_version(conn, line, {"order_id": 7, "no": 2}, "5", {"qty": 4}, version_column="revision")
    assert tuple(row(engine, line, order_id=7, no=1)) == (7, 1, 3, 6)


def test_one_update_statement_and_a_select_only_when_refused(db: tuple[Engine, Table, Table]) -> None:
    engine, task, _ = db
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with engine.begin() as conn:
            update_if_version(conn, task, 1, "1", {"title": "final"})
        assert len(statements) == 1
        assert statements[0].startswith("UPDATE")
        assert "VERSION = (" in statements[0] or "VERSION=(" in statements[0]
        assert "WHERE" in statements[0]
        assert "RETURNING" in statements[0]
        statements.clear()
        with pytest.raises(PreconditionFailed), engine.begin() as conn:
            update_if_version(conn, task, 1, "1", {"title": "again"})
        assert [s.split()[0] for s in statements] == ["UPDATE", "SELECT"]
        statements.clear()
        with pytest.raises(PreconditionFailed), engine.begin() as conn:
            update_if_version(conn, task, 1, "junk", {"title": "again"})
        assert [s.split()[0] for s in statements] == ["SELECT"]  # nothing to update with
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_a_session_and_a_mapped_class(db: tuple[Engine, Table, Table]) -> None:
    engine, task, _ = db

    class Base(DeclarativeBase):
        metadata = MetaData()

    class Task(Base):
        __table__ = task

    with Session(engine) as session, session.begin():
        assert update_if_version(session, Task, 1, "1", {"title": "from a session"}) == 2
    with Session(engine) as session, pytest.raises(PreconditionFailed) as refused:
        update_if_version(session, Task, 1, "1", {"title": "stale"})
    assert refused.value.headers == {"ETag": '"v2"'}
    assert row(engine, task, id=1).title == "from a session"


def test_from_preconditions_to_the_update(db: tuple[Engine, Table, Table]) -> None:
    # What a PUT route does: the If-Match it got names the version to update from.
    engine, task, _ = db
    asked = Preconditions("PUT", Conditions.parse({"If-Match": '"v1"'}.get), required=True)
    asked.require()
    with engine.begin() as conn:
        new = update_if_version(conn, task, 1, asked.expected_version, {"title": "put"})
    assert str(ETag.for_version(new)) == '"v2"'
    star = Preconditions("PUT", Conditions.parse({"If-Match": "*"}.get))
    with pytest.raises(PreconditionFailed), engine.begin() as conn:
        update_if_version(conn, task, 1, star.expected_version, {"title": "star"})


def test_refused_arguments(db: tuple[Engine, Table, Table]) -> None:
    engine, task, line = db
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="set by the update itself"):
            update_if_version(conn, task, 1, "1", {"version": 9})
        with pytest.raises(ValueError, match="no column 'nope'"):
            update_if_version(conn, task, 1, "1", {"nope": 1})
        with pytest.raises(ValueError, match="no version column"):
            update_if_version(conn, task, 1, "1", {"title": "x"}, version_column="rev")
        with pytest.raises(ValueError, match="as a mapping"):
            update_if_version(conn, line, 7, "5", {"qty": 1}, version_column="revision")
        with pytest.raises(ValueError, match="no column 'nope'"):
            update_if_version(conn, task, {"nope": 1}, "1", {"title": "x"})
        with pytest.raises(ValueError, match="at least one"):
            update_if_version(conn, task, {}, "1", {"title": "x"})
        with pytest.raises(TypeError, match="not a bool"):
            update_if_version(conn, task, 1, True, {"title": "x"})  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Table or a mapped class"):
            update_if_version(conn, "task", 1, "1", {"title": "x"})
    assert row(engine, task, id=1).version == 1


@pytest.mark.parametrize("kind", ["sqlite+async", "postgresql+async"])
def test_the_async_twin(request: pytest.FixtureRequest, kind: str) -> None:
    schema = request.getfixturevalue("postgres_schema") if kind.startswith("postgresql") else None
    metadata, task, _ = tables()
    url, options = engine_options(kind, schema)
    if schema is not None:
        url = url.replace("+psycopg", "+psycopg_async") if "+psycopg_async" not in url else url

    async def run() -> None:
        engine = create_async_engine(url, **options)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
                await conn.execute(insert(task), [{"id": 1, "title": "draft", "done": 0, "version": 1}])
            async with engine.begin() as conn:
                assert await aupdate_if_version(conn, task, 1, "1", {"title": "async"}) == 2
            with pytest.raises(PreconditionFailed) as refused:
                async with engine.begin() as conn:
                    await aupdate_if_version(conn, task, 1, "1", {"title": "stale"})
            assert refused.value.headers == {"ETag": '"v2"'}
            with pytest.raises(NotFound):
                async with engine.begin() as conn:
                    await aupdate_if_version(conn, task, 2, "1", {"title": "x"})
            from sqlalchemy.ext.asyncio import AsyncSession

            async with AsyncSession(engine) as session, session.begin():
                assert await aupdate_if_version(session, task, 1, 2, {"title": "session"}) == 3
            async with engine.connect() as conn:
                assert (await conn.execute(select(task.c.title, task.c.version))).one() == ("session", 3)
            with pytest.raises(TypeError, match="AsyncConnection or an AsyncSession"):
                await aupdate_if_version(object(), task, 1, 1, {})  # type: ignore[arg-type]
        finally:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.drop_all)
            await engine.dispose()

    asyncio.run(run())
