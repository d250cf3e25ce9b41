"""The list backend: pagination of a sequence in memory, by the rules the database backends follow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from backendkit.pagination._core.finish import finish
from backendkit.pagination._core.keyset import KeysetKey, Seek, matches
from backendkit.pagination._core.page import Page
from backendkit.pagination._core.request import PageRequest, Values, default_values

__all__ = ["paginate_sequence", "sort_rows"]


def sort_rows(rows: Sequence[Any], keys: Sequence[KeysetKey], read: Callable[[Any], tuple[Any, ...]]) -> list[Any]:
    """``rows`` ordered by ``keys`` with NULL greater than every value (stable sorts, last key first)."""
    ordered = list(rows)
    for index in range(len(keys) - 1, -1, -1):
        key = keys[index]
        # (is NULL, value): NULLs sort after every value, and two NULLs compare equal without "<".
        ordered.sort(key=lambda row: _null_last(read(row)[index]), reverse=key.descending)
    return ordered


def _null_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value)


def paginate_sequence(items: Sequence[Any], request: PageRequest, *, values: Values | None = None) -> Page[Any]:
    """One page of ``items`` (mappings or objects), filtered already by the caller.

    ``values(item)`` returns the item's sort-key values in the order of
    ``request.ordering``; by default they are read by key or by attribute.
    """
    names = request.names
    read = values or (lambda item: default_values(item, names))
    plan = request.fetch_plan()
    ordered = sort_rows(items, plan.order, read) if plan.order else list(items)
    if plan.branches != ((),):  # after a position: the rows of the branches, in order
        index = {name: i for i, name in enumerate(names)}
        after = Seek(plan.branches)

        def follows(row: Any) -> bool:
            row_values = read(row)
            return matches(after, lambda name: row_values[index[name]])

        ordered = [row for row in ordered if follows(row)]
    fetched = ordered[plan.offset : plan.offset + plan.want]
    return finish(request, fetched, count=lambda: len(items), subject=items, values=read)
