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

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backendkit._extras import require

require("sqlalchemy", extra="sqlalchemy", module="backendkit.pagination.sqlalchemy")

from sqlalchemy import ColumnElement, Select, and_, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from backendkit._settings import ConfigurationError  # noqa: E402
from backendkit.pagination._counts import (  # noqa: E402
    CountStrategy,
    Estimate,
    Total,
    count_cap,
    total_from,
)
from backendkit.pagination._keyset import Condition, seek, travel_keys  # noqa: E402
from backendkit.pagination._page import Page  # noqa: E402
from backendkit.pagination._request import PageRequest, default_values  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["apaginate", "paginate"]

Values = Callable[[Any], tuple[Any, ...]]


@dataclass(frozen=True)
class _Plan:
    # The ordered statement once per seek branch (once in all without a position); see Seek.branches.
    pages: tuple[Select[Any], ...]
    want: int
    count: Select[Any] | None
    strategy: CountStrategy
    entity: bool
    read: Values


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
    plan = _plan(statement, request, columns, values)
    fetched: list[Any] = []
    for page in plan.pages:
        page = page.limit(plan.want - len(fetched))
        fetched.extend((session.scalars(page) if plan.entity else session.execute(page)).all())
        if len(fetched) >= plan.want:
            break
    window, total = request.window(fetched)
    if total is None:
        total = total_from(plan.strategy, session.scalar(plan.count) if plan.count is not None else None, statement)
    return request.pagination.page(request, window, total=total, values=plan.read)


async def apaginate(
    session: AsyncSession,
    statement: Select[Any],
    request: PageRequest,
    *,
    columns: Mapping[str, Any] | None = None,
    values: Values | None = None,
) -> Page[Any]:
    """:func:`paginate` on an :class:`~sqlalchemy.ext.asyncio.AsyncSession`."""
    plan = _plan(statement, request, columns, values)
    fetched: list[Any] = []
    for page in plan.pages:
        page = page.limit(plan.want - len(fetched))
        fetched.extend((await (session.scalars(page) if plan.entity else session.execute(page))).all())
        if len(fetched) >= plan.want:
            break
    window, total = request.window(fetched)
    if total is None and isinstance(plan.strategy, Estimate):  # an async estimate may need awaiting
        estimated = plan.strategy.estimate(statement)
        total = Total(int(await estimated if inspect.isawaitable(estimated) else estimated), "estimate")
    if total is None:
        counted = await session.scalar(plan.count) if plan.count is not None else None
        total = total_from(plan.strategy, counted, statement)
    return request.pagination.page(request, window, total=total, values=plan.read)


def _plan(
    statement: Select[Any], request: PageRequest, columns: Mapping[str, Any] | None, values: Values | None
) -> _Plan:
    found = {name: _column(statement, name, columns) for name in request.names}
    keys = request.keyset_keys(lambda name: _nullable(found[name]))
    position = request.position
    backward = position is not None and position.backward
    # Without a sort (offset or page mode only), the statement keeps its own ORDER BY.
    page = statement.order_by(None) if keys else statement
    order = []
    for key in travel_keys(keys, backward):
        column = found[key.name]
        clause = column.desc() if key.descending else column.asc()
        if key.nullable:
            clause = clause.nulls_first() if key.descending else clause.nulls_last()
        order.append(clause)
    if order:
        page = page.order_by(*order)
    pages: tuple[Select[Any], ...] = (page,)
    if request.mode != "cursor":
        pages = (page.offset(request.offset),)
    elif position is not None:
        branches = seek(keys, position.values, backward=backward).branches
        pages = tuple(page.where(and_(*(_clause(c, found) for c in branch))) for branch in branches)
    strategy = request.pagination.count_strategy(request.mode)
    count = None
    if strategy != "none" and not isinstance(strategy, Estimate):
        counted = statement.order_by(None)
        cap = count_cap(strategy)
        if cap is not None:
            counted = counted.limit(cap)
        count = select(func.count()).select_from(counted.subquery())
    names = request.names
    read = values or (lambda item: default_values(item, names))
    return _Plan(pages, request.limit + 1, count, strategy, _selects_one_entity(statement), read)


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
