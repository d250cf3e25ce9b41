"""The list backend: pagination of a sequence in memory, by the rules the database backends follow.

Two paths, one result. In general the rows are sorted for each request (each row's sort values
read once) and the rows after the position kept. When the caller says in which order the sequence
already is (``sorted_by``) and the request asks for that order or its exact reverse, the page is
found by bisection instead: a page of 20 rows from a list of 1,000 reads about a dozen rows' sort
values (the bisection's and the cursors'), not a thousand, as an index does for a database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from backendkit.pagination._core.finish import finish
from backendkit.pagination._core.keyset import KeysetKey, Seek, matches
from backendkit.pagination._core.page import Page
from backendkit.pagination._core.request import FetchPlan, PageRequest, Values, default_values

__all__ = ["paginate_sequence", "sort_rows"]

_Row = tuple[tuple[Any, ...], Any]  # a row's sort values, and the row


def _null_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value)


def _sorted_pairs(rows: Sequence[Any], keys: Sequence[KeysetKey], read: Callable[[Any], tuple[Any, ...]]) -> list[_Row]:
    """Each row's sort values (read once) and the row, ordered by ``keys`` with NULL greater than every value."""
    pairs = [(read(row), row) for row in rows]
    for index in range(len(keys) - 1, -1, -1):  # stable sorts, last key first
        # (is NULL, value): NULLs sort after every value, and two NULLs compare equal without "<".
        pairs.sort(key=lambda pair: _null_last(pair[0][index]), reverse=keys[index].descending)
    return pairs


def sort_rows(rows: Sequence[Any], keys: Sequence[KeysetKey], read: Callable[[Any], tuple[Any, ...]]) -> list[Any]:
    """``rows`` ordered by ``keys`` with NULL greater than every value (stable sorts, last key first)."""
    return [row for _, row in _sorted_pairs(rows, keys, read)]


def _keys_of(ordering: str) -> tuple[tuple[str, bool], ...]:
    """``"-priority,id"`` as ``(("priority", True), ("id", False))``."""
    parts = (part.strip() for part in ordering.split(","))
    return tuple((part.lstrip("+-"), part.startswith("-")) for part in parts if part)


def _direction(plan: FetchPlan, sorted_by: str | None) -> int:
    """1 when ``items`` are in the plan's travel order, -1 when in its exact reverse, 0 when neither (or unknown)."""
    if sorted_by is None or not plan.order:
        return 0
    given = _keys_of(sorted_by)
    if given == tuple((key.name, key.descending) for key in plan.order):
        return 1
    # The reverse of an order that ends in a unique key is the order with every direction flipped (NULLs too).
    if given == tuple((key.name, not key.descending) for key in plan.order):
        return -1
    return 0


def _follows(plan: FetchPlan, names: tuple[str, ...], read: Values) -> Callable[[tuple[Any, ...]], bool]:
    """Whether a row's sort values come after the request's position (every row, on a first page)."""
    index = {name: i for i, name in enumerate(names)}
    after = Seek(plan.branches)
    return lambda row_values: matches(after, lambda name: row_values[index[name]])


def _walk_sorted(
    items: Sequence[Any], plan: FetchPlan, direction: int, read: Values, names: tuple[str, ...]
) -> list[Any]:
    """The rows a plan fetches from ``items`` already in travel order (``direction`` 1) or its reverse (-1)."""
    size = len(items)

    def at(i: int) -> Any:  # the i-th row in travel order
        return items[i] if direction == 1 else items[size - 1 - i]

    start = 0
    if plan.branches != ((),):  # the rows after a position are a suffix of the travel order: bisect for it
        follows, high = _follows(plan, names, read), size
        while start < high:
            middle = (start + high) // 2
            if follows(read(at(middle))):
                high = middle
            else:
                start = middle + 1
    start = min(start + plan.offset, size)
    stop = min(start + plan.want, size)
    if direction == 1:
        return list(items[start:stop])
    return list(items[size - stop : size - start])[::-1]


def paginate_sequence(
    items: Sequence[Any], request: PageRequest, *, values: Values | None = None, sorted_by: str | None = None
) -> Page[Any]:
    """One page of ``items`` (mappings or objects), filtered already by the caller.

    ``values(item)`` returns the item's sort-key values in the order of
    ``request.ordering``; by default they are read by key or by attribute.

    ``sorted_by`` tells in which order ``items`` already are, as :attr:`PageRequest.sort` writes an
    ordering (``"id"``, ``"-priority,id"``: the tiebreaker included, NULL greater than every value).
    A request for that order or its exact reverse then costs what its page costs (a bisection and
    a slice) instead of a sort of the whole sequence; any other order is sorted as without it. The
    sequence must really be in that order (a list kept sorted, or rows read ``ORDER BY`` it): a
    sequence that is not gets pages that are not.
    """
    names = request.names
    read = values or (lambda item: default_values(item, names))
    plan = request.fetch_plan()
    direction = _direction(plan, sorted_by)
    if direction:
        fetched = _walk_sorted(items, plan, direction, read, names)
    else:
        pairs = _sorted_pairs(items, plan.order, read) if plan.order else [((), row) for row in items]
        if plan.branches != ((),):  # after a position: the rows of the branches, in order
            follows = _follows(plan, names, read)
            pairs = [pair for pair in pairs if follows(pair[0])]
        fetched = [row for _, row in pairs[plan.offset : plan.offset + plan.want]]
    return finish(request, fetched, count=lambda: len(items), subject=items, values=read)
