"""The in-memory backend: pagination of a list by the same rules the SQL backends follow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from backendkit.pagination._counts import total_from
from backendkit.pagination._keyset import KeysetKey, matches, seek, travel_keys
from backendkit.pagination._page import Page
from backendkit.pagination._request import PageRequest, default_values


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


def paginate_sequence(
    items: Sequence[Any], request: PageRequest, *, values: Callable[[Any], tuple[Any, ...]] | None = None
) -> Page[Any]:
    """One page of ``items`` (mappings or objects), filtered already by the caller.

    ``values(item)`` returns the item's sort-key values in the order of
    ``request.ordering``; by default they are read by key or by attribute.
    """
    names = request.names
    read = values or (lambda item: default_values(item, names))
    keys = request.keyset_keys()
    strategy = request.pagination.count_strategy(request.mode)
    total = total_from(strategy, None if strategy == "none" else len(items), items)
    if request.mode != "cursor":
        ordered = sort_rows(items, keys, read) if keys else list(items)
        window, _ = request.window(ordered[request.offset : request.offset + request.limit + 1])
        return request.pagination.page(request, window, total=total)
    position = request.position
    backward = position is not None and position.backward
    moving = travel_keys(keys, backward)
    ordered = sort_rows(items, moving, read)
    if position is not None:
        condition = seek(keys, position.values, backward=backward)
        index = {name: i for i, name in enumerate(names)}

        def after(row: Any) -> bool:
            row_values = read(row)
            return matches(condition, lambda name: row_values[index[name]])

        ordered = [row for row in ordered if after(row)]
    window, _ = request.window(ordered[: request.limit + 1])
    return request.pagination.page(request, window, total=total, values=read)
