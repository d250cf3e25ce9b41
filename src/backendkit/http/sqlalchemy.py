"""Optimistic locking on SQLAlchemy 2.0: update a row only if its version is the one the client read.

:func:`update_if_version` (a sync ``Connection`` or ``Session``) and :func:`aupdate_if_version`
(an ``AsyncConnection`` or ``AsyncSession``) run one statement::

    UPDATE <table> SET <values>, version = version + 1
    WHERE <key> AND version = :expected
    RETURNING version

The database decides, under its row lock, which of two concurrent writers that read
the same version wins: the other's ``WHERE`` no longer holds, it changes nothing, and a
second ``SELECT`` tells why: no row (404 ``NOT_FOUND``) or another version (412
``PRECONDITION_FAILED``, with the current ``ETag``, ``"v<version>"``). Nothing is read
before the update, so there is no window between a check and a write. The statements
run in the caller's transaction: commit it.

Example:
    >>> from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert
    >>> from backendkit.errors import PreconditionFailed
    >>> tasks = Table("task", MetaData(), Column("id", Integer, primary_key=True), Column("title", String),
    ...               Column("version", Integer, nullable=False))
    >>> engine = create_engine("sqlite://")
    >>> tasks.metadata.create_all(engine)
    >>> with engine.begin() as conn:
    ...     _ = conn.execute(insert(tasks), {"id": 1, "title": "draft", "version": 1})
    ...     update_if_version(conn, tasks, 1, "1", {"title": "final"})
    2
    >>> try:
    ...     with engine.begin() as conn:
    ...         update_if_version(conn, tasks, 1, "1", {"title": "lost update"})
    ... except PreconditionFailed as refused:
    ...     print(refused.status, refused.headers)
    412 {'ETag': '"v2"'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backendkit._extras import require

require("sqlalchemy", extra="sqlalchemy", module="backendkit.http.sqlalchemy")

from sqlalchemy import ColumnElement, Select, Table, Update, and_, inspect, select, update  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from backendkit.errors import PreconditionFailed  # noqa: E402
from backendkit.http._core.answers import not_updated, version_number  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

__all__ = ["aupdate_if_version", "update_if_version"]

_SERIALIZATION_FAILURE = "40001"  # SQLSTATE: a concurrent transaction changed the row first


@dataclass(frozen=True)
class _Statements:
    """One call's two statements: the guarded update, and the read that explains a refusal."""

    update: Update | None  # None: the expected version cannot match any row (not a version number)
    current: Select[Any]
    returning: bool
    expected: int | None


def _table_of(table: Any) -> Table:
    if isinstance(table, Table):
        return table
    mapped = inspect(table, raiseerr=False)
    local = getattr(mapped, "local_table", None)
    if isinstance(local, Table):
        return local
    raise TypeError(f"update_if_version takes a Table or a mapped class, not {table!r}")


def _key_clause(table: Table, key: Any) -> ColumnElement[bool]:
    if isinstance(key, Mapping):
        if not key:
            raise ValueError("the key names at least one column")
        unknown = [name for name in key if name not in table.c]
        if unknown:
            raise ValueError(f"{table.name} has no column {', '.join(map(repr, unknown))}")
        return and_(*(table.c[name] == value for name, value in key.items()))
    primary = list(table.primary_key.columns)
    if len(primary) != 1:
        raise ValueError(f"{table.name}'s primary key has {len(primary)} columns: give the key as a mapping")
    clause: ColumnElement[bool] = primary[0] == key
    return clause


def _statements(
    table: Any, key: Any, version: int | str | None, values: Mapping[str, Any], version_column: str, returning: bool
) -> _Statements:
    target = _table_of(table)
    if version_column not in target.c:
        raise ValueError(f"{target.name} has no version column {version_column!r}")
    unknown = [name for name in values if name not in target.c]
    if unknown:
        raise ValueError(f"{target.name} has no column {', '.join(map(repr, unknown))}")
    if version_column in values:
        raise ValueError(f"the version column {version_column!r} is set by the update itself, not by values")
    column = target.c[version_column]
    where = _key_clause(target, key)
    expected = version_number(version)
    current = select(column).where(where)
    if expected is None:
        return _Statements(None, current, returning, None)
    statement = update(target).where(where, column == expected).values({**values, version_column: column + 1})
    if returning:
        statement = statement.returning(column)
    return _Statements(statement, current, returning, expected)


def _serialization_failure(exc: DBAPIError) -> bool:
    """A concurrent writer won under REPEATABLE READ or SERIALIZABLE (PostgreSQL's SQLSTATE 40001)."""
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return bool(state == _SERIALIZATION_FAILURE)


def _lost_race() -> PreconditionFailed:
    # The transaction is aborted: the current version cannot be read in it. The 412 goes without a tag.
    return PreconditionFailed("The resource was changed by a concurrent request; read it again and retry.")


def _changed(result: Any, statements: _Statements) -> int | None:
    """The new version, when the update changed the row (RETURNING's value, else the one after the expected)."""
    if statements.returning:
        row = result.first()
        return None if row is None else int(row[0])
    return statements.expected + 1 if result.rowcount == 1 and statements.expected is not None else None


def _returns(bind: Connection | Session) -> bool:
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return bool(dialect.update_returning)


def update_if_version(
    conn_or_session: Connection | Session,
    table: Any,
    key: Any,
    version: int | str | None,
    values: Mapping[str, Any],
    *,
    version_column: str = "version",
) -> int:
    """Set ``values`` on the row ``key`` if its version is still ``version``; answer the new version.

    Args:
        conn_or_session: A sync ``Connection`` or ORM ``Session``; the statements run in its
            transaction, which the caller commits. (Objects of ``table`` already loaded in a
            session are not refreshed: expire them to read the change.)
        table: A ``Table``, or a mapped class (its table is updated).
        key: The primary key's value, or a mapping of column name to value (a composite key).
        version: The version the client read: what :attr:`Preconditions.expected_version`
            gives (``If-Match: "v3"`` → ``"3"``), or an int. None, or text that is not a
            version number, matches no row: 412 (404 if there is no row).
        values: Column name → new value; the version column is not among them.
        version_column: The integer column that counts the row's changes.

    Returns:
        The row's new version (``ETag.for_version(new)`` is its tag).

    Raises:
        NotFound: 404, no row has ``key``.
        PreconditionFailed: 412, the row's version is another: its ``ETag`` rides along. Under
            REPEATABLE READ or SERIALIZABLE, a concurrent writer that won raises a
            serialization failure in the database; it becomes this 412 too (with no tag:
            the transaction is aborted, roll it back).
    """
    statements = _statements(table, key, version, values, version_column, _returns(conn_or_session))
    try:
        if statements.update is not None:
            changed = _changed(conn_or_session.execute(statements.update), statements)
            if changed is not None:
                return changed
        current = conn_or_session.execute(statements.current).scalar()
    except DBAPIError as exc:
        if _serialization_failure(exc):
            raise _lost_race() from exc
        raise
    raise not_updated(current)


async def aupdate_if_version(
    conn_or_session: AsyncConnection | AsyncSession,
    table: Any,
    key: Any,
    version: int | str | None,
    values: Mapping[str, Any],
    *,
    version_column: str = "version",
) -> int:
    """:func:`update_if_version` on an ``AsyncConnection`` or ``AsyncSession``: the same statements, awaited."""
    sync = getattr(conn_or_session, "sync_connection", None) or getattr(conn_or_session, "sync_session", None)
    if not isinstance(sync, (Connection, Session)):
        raise TypeError(f"aupdate_if_version takes an AsyncConnection or an AsyncSession, not {conn_or_session!r}")
    statements = _statements(table, key, version, values, version_column, _returns(sync))
    try:
        if statements.update is not None:
            changed = _changed(await conn_or_session.execute(statements.update), statements)
            if changed is not None:
                return changed
        current = (await conn_or_session.execute(statements.current)).scalar()
    except DBAPIError as exc:
        if _serialization_failure(exc):
            raise _lost_race() from exc
        raise
    raise not_updated(current)
