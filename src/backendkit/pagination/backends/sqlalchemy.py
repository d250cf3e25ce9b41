"""The SQLAlchemy 2.0 backend: pages of a ``select()`` on a sync or an asyncio session.

Example:
    >>> from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select
    >>> from sqlalchemy.orm import Session
    >>> from backendkit.pagination import Pagination, SortSpec
    >>> items = Table("item", MetaData(), Column("id", Integer, primary_key=True), Column("rank", Integer))
    >>> engine = create_engine("sqlite://")
    >>> items.metadata.create_all(engine)
    >>> pages = Pagination(sort=SortSpec(["rank", "id"], default="-rank"), secrets=["a-secret-of-at-least-16-bytes"])
    >>> with Session(engine) as session:
    ...     _ = session.execute(insert(items), [{"id": i, "rank": i % 2} for i in range(1, 6)])
    ...     page = paginate(session, select(items), pages.parse([("limit", "2")], now=0.0))
    >>> [row.id for row in page.items], page.has_next
    ([1, 3], True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backendkit._extras import require

require("sqlalchemy", extra="sqlalchemy", module="backendkit.pagination.backends.sqlalchemy")

from sqlalchemy import ColumnElement, Select, and_, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from backendkit.errors import ConfigurationError  # noqa: E402
from backendkit.pagination.backend import (  # noqa: E402
    Condition,
    Page,
    PageRequest,
    Values,
    afinish,
    count_cap,
    counts_rows,
    finish,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["apaginate", "paginate"]


@dataclass(frozen=True)
class _Query:
    """The statements of one page: one per seek branch, fetched in turn, and the count."""

    pages: tuple[Select[Any], ...]
    want: int
    count: Select[Any] | None
    entity: bool


def paginate(
    session: Session,
    statement: Select[Any],
    request: PageRequest,
    *,
    columns: Mapping[str, Any] | None = None,
    values: Values | None = None,
) -> Page[Any]:
    """One page of ``statement`` (filtered already; its own ORDER BY is replaced).

    Args:
        session: A sync :class:`~sqlalchemy.orm.Session`.
        statement: A ``select()`` of one ORM entity (items are instances) or of columns (items are rows).
        request: The parsed request.
        columns: Sort name → column, where a name is not a column of ``statement``.
        values: Reads an item's sort-key values, where they are not its attributes of those names.
    """
    query = _query(statement, request, columns)
    fetched: list[Any] = []
    for page in query.pages:
        page = page.limit(query.want - len(fetched))
        fetched.extend((session.scalars(page) if query.entity else session.execute(page)).all())
        if len(fetched) >= query.want:
            break
    count = query.count
    counter = None if count is None else (lambda: int(session.scalar(count) or 0))
    return finish(request, fetched, count=counter, subject=statement, values=values)


async def apaginate(
    session: AsyncSession,
    statement: Select[Any],
    request: PageRequest,
    *,
    columns: Mapping[str, Any] | None = None,
    values: Values | None = None,
) -> Page[Any]:
    """:func:`paginate` on an :class:`~sqlalchemy.ext.asyncio.AsyncSession`."""
    query = _query(statement, request, columns)
    fetched: list[Any] = []
    for page in query.pages:
        page = page.limit(query.want - len(fetched))
        fetched.extend((await (session.scalars(page) if query.entity else session.execute(page))).all())
        if len(fetched) >= query.want:
            break
    count = query.count
    if count is None:
        return await afinish(request, fetched, subject=statement, values=values)
    counting: Select[Any] = count

    async def counter() -> int:
        return int(await session.scalar(counting) or 0)

    return await afinish(request, fetched, count=counter, subject=statement, values=values)


def _query(statement: Select[Any], request: PageRequest, columns: Mapping[str, Any] | None) -> _Query:
    found = {name: _column(statement, name, columns) for name in request.names}
    plan = request.fetch_plan(lambda name: _nullable(found[name]))
    # Without a sort (offset or page mode only), the statement keeps its own ORDER BY.
    page = statement.order_by(None) if plan.order else statement
    order = []
    for key in plan.order:
        column = found[key.name]
        clause = column.desc() if key.descending else column.asc()
        if key.nullable:
            clause = clause.nulls_first() if key.descending else clause.nulls_last()
        order.append(clause)
    if order:
        page = page.order_by(*order)
    if plan.offset:
        page = page.offset(plan.offset)
    pages = tuple(
        page.where(and_(*(_clause(c, found) for c in branch))) if branch else page for branch in plan.branches
    )
    count = None
    if counts_rows(request.count):
        counted = statement.order_by(None)
        cap = count_cap(request.count)
        if cap is not None:
            counted = counted.limit(cap)
        count = select(func.count()).select_from(counted.subquery())
    return _Query(pages, plan.want, count, _selects_one_entity(statement))


def _column(statement: Select[Any], name: str, columns: Mapping[str, Any] | None) -> ColumnElement[Any]:
    if columns is not None and name in columns:
        return columns[name]  # type: ignore[no-any-return]
    try:
        return statement.selected_columns[name]
    except KeyError:
        raise ConfigurationError(
            f"the statement selects no column named {name!r}; pass columns={{{name!r}: ...}}"
        ) from None


def _nullable(column: Any) -> bool:
    target = getattr(column, "expression", column)
    return bool(getattr(target, "nullable", True))


def _selects_one_entity(statement: Select[Any]) -> bool:
    described = statement.column_descriptions
    return (
        len(described) == 1
        and described[0].get("entity") is not None
        and described[0]["expr"] is described[0]["entity"]
    )


def _clause(c: Condition, found: Mapping[str, ColumnElement[Any]]) -> ColumnElement[bool]:
    column: Any = found[c.field]
    result: ColumnElement[bool]
    if c.op == "is_null":
        result = column.is_(None)
    elif c.op == "not_null":
        result = column.is_not(None)
    elif c.op == "eq":
        result = column == c.value
    elif c.op == "gt":
        result = column > c.value
    else:
        result = column < c.value
    return result
