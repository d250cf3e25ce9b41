"""A parsed, validated page request: everything a backend needs, nothing from the client unchecked."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from backendkit.pagination._core.counts import CountStrategy, Total, total_without_count
from backendkit.pagination._core.cursor import CursorCodec, Position
from backendkit.pagination._core.keyset import (
    Condition,
    KeysetKey,
    Window,
    keyset_window,
    offset_window,
    seek,
    travel_keys,
)
from backendkit.pagination._core.sort import Ordering, format_ordering

Mode = Literal["cursor", "page", "offset"]
QueryPairs = tuple[tuple[str, str], ...]
Values = Callable[[Any], tuple[Any, ...]]


def default_values(item: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    """Sort-key values of a mapping (by key) or of an object (by attribute)."""
    if isinstance(item, Mapping):
        return tuple(item[name] for name in names)
    mapping = getattr(item, "_mapping", None)  # a SQLAlchemy Row
    if mapping is not None:
        return tuple(mapping[name] for name in names)
    return tuple(getattr(item, name) for name in names)


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """What a backend fetches for one page, in its own query language.

    Attributes:
        order: The sort keys in the order of travel (every direction flipped when
            walking backward): the ORDER BY.
        branches: One WHERE each, fetched one after the other until ``want`` rows
            are in (see :class:`Seek`); a single empty branch when there is no position.
        offset: Rows to skip first (page and offset modes; 0 in cursor mode).
        want: How many rows to fetch at most: the page size and one more, which tells
            whether another page follows.
    """

    order: tuple[KeysetKey, ...]
    branches: tuple[tuple[Condition, ...], ...]
    offset: int
    want: int


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What one request asks for, validated.

    Attributes:
        mode: ``"cursor"`` (keyset), ``"page"`` (page / per_page) or ``"offset"`` (limit / offset).
        limit: The page size to serve (after clamping).
        offset: Rows to skip (page and offset modes; 0 in cursor mode).
        page: The page number in page mode, else ``None``.
        ordering: The ordering, tiebreaker included.
        position: Where a keyset page starts, ``None`` for the first page.
        filters: The allowlisted filters the client gave, parsed.
        clamped: Whether the client asked for more than the maximum page size.
        path: The request path, for links.
        query: The request's query pairs, for links.
        now: The time the request was parsed at (seconds since the epoch).
        count: How the page's total is counted (the pagination's strategy for this mode).
        codec: What signs the page's cursors (cursor mode), else ``None``.
        item_cursors: Whether every item gets a cursor of its own.
    """

    mode: Mode
    limit: int
    offset: int
    page: int | None
    ordering: Ordering
    position: Position | None
    filters: Mapping[str, Any]
    clamped: bool
    path: str
    query: QueryPairs
    now: float
    count: CountStrategy
    codec: CursorCodec | None = None
    item_cursors: bool = False

    @property
    def sort(self) -> str:
        """The canonical text of :attr:`ordering` (``-priority,id``)."""
        return format_ordering(self.ordering)

    @property
    def names(self) -> tuple[str, ...]:
        """The sort fields' names, in order."""
        return tuple(key.name for key in self.ordering)

    def keyset_keys(self, nullable: Callable[[str], bool] = lambda name: True) -> tuple[KeysetKey, ...]:
        """The ordering as keyset keys; ``nullable(name)`` says which columns can hold NULL."""
        return tuple(KeysetKey(k.name, k.descending, nullable(k.name)) for k in self.ordering)

    def fetch_plan(self, nullable: Callable[[str], bool] = lambda name: True) -> FetchPlan:
        """What to fetch for this page; ``nullable(name)`` says which sort columns can hold NULL."""
        keys = self.keyset_keys(nullable)
        position = self.position
        backward = position is not None and position.backward
        branches: tuple[tuple[Condition, ...], ...] = ((),)
        if self.mode == "cursor" and position is not None:
            branches = seek(keys, position.values, backward=backward).branches
        offset = self.offset if self.mode != "cursor" else 0
        return FetchPlan(travel_keys(keys, backward), branches, offset, self.limit + 1)

    def window(self, fetched: Sequence[Any]) -> tuple[Window, Total | None]:
        """Cut the ``limit + 1`` rows a backend fetched (in travel order) into a page.

        Also returns the total when the page already tells it (a page or offset page
        that is not full ends the list), so that no count query is needed; else ``None``.
        """
        position = self.position
        if self.mode == "cursor":
            backward = position is not None and position.backward
            cut = keyset_window(fetched, limit=self.limit, position_given=position is not None, backward=backward)
            return cut, None
        cut = offset_window(fetched, limit=self.limit, offset=self.offset)
        return cut, total_without_count(self.count, offset=self.offset, served=len(cut.items), has_next=cut.has_next)
