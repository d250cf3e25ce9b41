"""The keyset core: which rows come after a position, and in what order, as plain data.

Backends turn a :class:`Seek` into their own query language (SQLAlchemy expressions,
Django ``Q`` objects) or evaluate it on Python objects; none of them re-derives it.

The NULL rule, the same on every backend: NULL is greater than every value. An
ascending key puts NULLs last, a descending key puts them first, and walking
backward mirrors both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Op = Literal["eq", "is_null", "not_null", "gt", "lt"]


@dataclass(frozen=True, slots=True)
class KeysetKey:
    """A sort key as a backend sees it: name, direction, and whether the column can hold NULL."""

    name: str
    descending: bool = False
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class Condition:
    """``field <op> value`` (``value`` unused for ``is_null`` / ``not_null``)."""

    field: str
    op: Op
    value: Any = None


@dataclass(frozen=True, slots=True)
class Seek:
    """Rows strictly after a position: those that meet every condition of one branch.

    The branches come in the order their rows come when travelling, the deepest
    prefix first, and none overlaps another. Each is a plain index range (an equal
    prefix and one bound), so a backend fetches branch after branch, stopping when
    it has enough rows, instead of asking the database to filter one OR of them:
    with many rows sharing the leading value, the OR makes it read past every one
    of them before the position. No branches match nothing.
    """

    branches: tuple[tuple[Condition, ...], ...]


def travel_keys(keys: Sequence[KeysetKey], backward: bool) -> tuple[KeysetKey, ...]:
    """The keys in the order of travel: as given, or every direction flipped when walking backward."""
    if not backward:
        return tuple(keys)
    return tuple(KeysetKey(k.name, not k.descending, k.nullable) for k in keys)


def _equal(key: KeysetKey, value: Any) -> Condition:
    return Condition(key.name, "is_null") if value is None else Condition(key.name, "eq", value)


def _after(key: KeysetKey, value: Any) -> list[Condition]:
    """The alternatives for "strictly after ``value``" on one key, in travel order (NULL greatest)."""
    if not key.descending:
        if value is None:
            return []  # nothing is after NULL when NULLs come last
        after = [Condition(key.name, "gt", value)]
        return [*after, Condition(key.name, "is_null")] if key.nullable else after
    if value is None:
        return [Condition(key.name, "not_null")] if key.nullable else []
    return [Condition(key.name, "lt", value)]


def seek(keys: Sequence[KeysetKey], values: Sequence[Any], *, backward: bool = False) -> Seek:
    """The rows strictly after ``values`` (strictly before, if ``backward``) in the ordering ``keys``.

    Examples:
        >>> s = seek([KeysetKey("priority", True, False), KeysetKey("id", False, False)], [3, 17])
        >>> [[(c.field, c.op, c.value) for c in branch] for branch in s.branches]
        [[('priority', 'eq', 3), ('id', 'gt', 17)], [('priority', 'lt', 3)]]
    """
    if len(keys) != len(values):
        raise ValueError("one value per key")
    moving = travel_keys(keys, backward)
    per_key: list[list[tuple[Condition, ...]]] = []
    prefix: list[Condition] = []
    for key, value in zip(moving, values, strict=True):
        per_key.append([(*prefix, alternative) for alternative in _after(key, value)])
        prefix.append(_equal(key, value))
    return Seek(tuple(branch for alternatives in reversed(per_key) for branch in alternatives))


def _holds(condition: Condition, value: Any) -> bool:
    op = condition.op
    if op == "is_null":
        return value is None
    if op == "not_null":
        return value is not None
    if value is None:
        return False  # as in SQL: a comparison with NULL is never true
    if op == "eq":
        return bool(value == condition.value)
    if op == "gt":
        return bool(value > condition.value)
    return bool(value < condition.value)


def matches(s: Seek, value_of: Callable[[str], Any]) -> bool:
    """Whether a row, read through ``value_of(field)``, satisfies ``s`` (for in-memory backends and tests)."""
    return any(all(_holds(c, value_of(c.field)) for c in branch) for branch in s.branches)


@dataclass(frozen=True, slots=True)
class Window:
    """One page of rows in display order, and whether pages lie after and before it."""

    items: list[Any]
    has_next: bool
    has_prev: bool


def keyset_window(fetched: Sequence[Any], *, limit: int, position_given: bool, backward: bool) -> Window:
    """Cut ``limit + 1`` rows fetched in travel order into a page, in display order.

    Going forward, the extra row says a next page exists, and a previous page exists
    when the walk started from a cursor. Going backward, the extra row says a
    previous page exists, and the next page is the one the cursor came from.
    """
    extra = len(fetched) > limit
    rows = list(fetched[:limit])
    if backward:
        rows.reverse()
        return Window(rows, has_next=bool(rows), has_prev=extra)
    return Window(rows, has_next=extra, has_prev=position_given and bool(rows))


def offset_window(fetched: Sequence[Any], *, limit: int, offset: int) -> Window:
    """Cut ``limit + 1`` rows fetched at ``offset`` into a page."""
    return Window(list(fetched[:limit]), has_next=len(fetched) > limit, has_prev=offset > 0)
