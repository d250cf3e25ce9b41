"""A parsed, validated page request: everything a backend needs, nothing from the client unchecked."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from backendkit.pagination._counts import Total, total_without_count
from backendkit.pagination._cursor import Position
from backendkit.pagination._keyset import KeysetKey, Window, keyset_window, offset_window
from backendkit.pagination._sort import Ordering, format_ordering

if TYPE_CHECKING:
    from backendkit.pagination._pagination import Pagination

Mode = Literal["cursor", "page", "offset"]
QueryPairs = tuple[tuple[str, str], ...]


def default_values(item: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    """Sort-key values of a mapping (by key) or of an object (by attribute)."""
    if isinstance(item, Mapping):
        return tuple(item[name] for name in names)
    mapping = getattr(item, "_mapping", None)  # a SQLAlchemy Row
    if mapping is not None:
        return tuple(mapping[name] for name in names)
    return tuple(getattr(item, name) for name in names)


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
    pagination: Pagination

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
        strategy = self.pagination.count_strategy(self.mode)
        return cut, total_without_count(strategy, offset=self.offset, served=len(cut.items), has_next=cut.has_next)
