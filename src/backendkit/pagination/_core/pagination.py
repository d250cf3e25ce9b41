"""One endpoint's pagination rules, and the parsing of a request against them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from backendkit.errors import BadRequest, ConfigurationError
from backendkit.pagination._core.counts import CountStrategy, Total, check_strategy
from backendkit.pagination._core.cursor import CursorCodec, Position
from backendkit.pagination._core.errors import (
    InvalidCursor,
    InvalidFilter,
    InvalidPage,
    InvalidPageSize,
    InvalidSort,
    invalid_cursor,
)
from backendkit.pagination._core.filters import parse_filters
from backendkit.pagination._core.finish import page_of
from backendkit.pagination._core.keyset import Window
from backendkit.pagination._core.page import Page
from backendkit.pagination._core.parameters import QueryParameter, query_parameters
from backendkit.pagination._core.params import PageSize, parse_index
from backendkit.pagination._core.request import Mode, PageRequest, QueryPairs, Values
from backendkit.pagination._core.sequence import paginate_sequence
from backendkit.pagination._core.sort import SortSpec, format_ordering
from backendkit.pagination._core.values import filters_text

MODES: tuple[Mode, ...] = ("cursor", "page", "offset")
_REPEAT_ERRORS: dict[str, type[BadRequest]] = {
    "limit": InvalidPageSize,
    "per_page": InvalidPageSize,
    "page": InvalidPage,
    "offset": InvalidPage,
    "sort": InvalidSort,
}


class Pagination:
    """How one endpoint paginates: modes, sort allowlist, page sizes, filters, counting and cursors.

    Args:
        sort: The sort allowlist, default and tiebreaker; required for cursor mode.
        secrets: Secrets that sign cursors (first signs, all verify); required for cursor mode.
        modes: The modes served, the first one the default when the client names none.
        page_size: Default, maximum and what happens above it.
        filters: Allowlisted filter parameters, each with a parser (``int``, ``str``,
            :func:`boolean`, :func:`integer`...) that raises ``ValueError`` on a bad value.
            A parsed value no database column can hold (an integer past 64 bits...) is
            refused too. Cursors are bound to the filters they were made under.
        count: ``"exact"``, ``"none"``, ``Capped(n)`` or ``Estimate(fn)``; ``None`` counts
            exactly in page and offset modes and not at all in cursor mode.
        max_age: Seconds a cursor stays valid (``None``: forever).
        namespace: Binds cursors to this endpoint: a cursor of another namespace is refused.
        cursor_max_length: The longest cursor made or accepted, in characters (see
            :class:`CursorCodec`); raise it for long sort values, such as titles.
        item_cursors: Also make a cursor for every item (cursor mode).

    A cursor mode without a sort or a secret is a :class:`ConfigurationError` here, at
    start-up, not a 500 at the first request.

    Example:
        >>> pages = Pagination(sort=SortSpec(["priority", "id"], default="-priority"),
        ...                    secrets=["a-secret-of-at-least-16-bytes"])
        >>> request = pages.parse([("limit", "2")], now=0.0)
        >>> page = pages.paginate_sequence([{"id": i, "priority": i % 3} for i in range(5)], request)
        >>> [row["id"] for row in page.items], page.has_next
        ([2, 1], True)
    """

    def __init__(
        self,
        *,
        sort: SortSpec | None = None,
        secrets: Sequence[str | bytes] | None = None,
        modes: Sequence[Mode] = MODES,
        page_size: PageSize | None = None,
        filters: Mapping[str, Callable[[str], Any]] | None = None,
        count: CountStrategy | None = None,
        max_age: float | None = None,
        namespace: str = "",
        item_cursors: bool = False,
        cursor_max_length: int = 2048,
    ) -> None:
        self.modes = tuple(modes)
        if not self.modes or any(m not in MODES for m in self.modes) or len(set(self.modes)) != len(self.modes):
            raise ConfigurationError(f"modes must be distinct values among {MODES}")
        self.sort = sort
        self.page_size = page_size or PageSize()
        self.filters = dict(filters or {})
        clash = set(self.filters) & {"cursor", "limit", "page", "per_page", "offset", "sort"}
        if clash:
            raise ConfigurationError(f"filter names clash with pagination parameters: {sorted(clash)}")
        self.count = None if count is None else check_strategy(count)
        self.item_cursors = item_cursors
        self.codec: CursorCodec | None = None
        if "cursor" in self.modes:
            if sort is None:
                raise ConfigurationError("cursor pagination needs a sort (SortSpec) with a unique tiebreaker")
            if secrets is None:
                raise ConfigurationError("cursor pagination needs secrets to sign cursors with")
            self.codec = CursorCodec(secrets, max_age=max_age, max_length=cursor_max_length, namespace=namespace)

    def query_parameters(self) -> list[QueryParameter]:
        """The query parameters this pagination reads, each with a JSON Schema of what it accepts (for docs)."""
        return query_parameters(self)

    def count_strategy(self, mode: Mode) -> CountStrategy:
        """The count strategy for ``mode``."""
        if self.count is not None:
            return self.count
        return "none" if mode == "cursor" else "exact"

    # --- parsing ------------------------------------------------------------------------------------------
    def parse(self, query: Iterable[tuple[str, str]], *, now: float, path: str = "") -> PageRequest:
        """Validate a request's query pairs; a 400 :class:`~backendkit.errors.BadRequest` subclass if they don't fit."""
        pairs: QueryPairs = tuple(query)
        given = _single_values(pairs, self.filters)
        mode = self._mode(given)
        size_name = "per_page" if mode == "page" else "limit"
        limit, clamped = self.page_size.resolve(given.get(size_name), parameter=size_name)
        ordering = self.sort.parse(given.get("sort")) if self.sort is not None else ()
        if self.sort is None and given.get("sort"):
            raise InvalidSort("This endpoint cannot be sorted.", details={"parameter": "sort"})
        filters = parse_filters(self.filters, given)
        offset, page, position = 0, None, None
        if mode == "page":
            page = parse_index(given.get("page"), parameter="page", minimum=1)
            offset = (page - 1) * limit
        elif mode == "offset":
            offset = parse_index(given.get("offset"), parameter="offset", minimum=0)
        elif given.get("cursor"):
            position = self._position(given["cursor"], format_ordering(ordering), filters, now)
            if len(position.values) != len(ordering):
                raise invalid_cursor("sort_mismatch")
        return PageRequest(
            mode,
            limit,
            offset,
            page,
            ordering,
            position,
            filters,
            clamped,
            path,
            pairs,
            now,
            count=self.count_strategy(mode),
            codec=self.codec,
            item_cursors=self.item_cursors,
        )

    def _mode(self, given: Mapping[str, str]) -> Mode:
        present = {name for name, value in given.items() if value != ""}
        wanted: Mode
        if "cursor" in present:
            wanted = "cursor"
            clash = present & {"page", "per_page", "offset"}
        elif present & {"page", "per_page"}:
            wanted = "page"
            clash = present & {"offset", "limit"}
        elif "offset" in present:
            wanted = "offset"
            clash = set()
        else:
            return self.modes[0]
        if clash:
            raise InvalidPage(
                f"{wanted.capitalize()} pagination cannot be combined with {', '.join(sorted(clash))}.",
                details={"parameters": sorted(clash)},
            )
        if wanted not in self.modes:
            raise InvalidPage(
                f"This endpoint does not offer {wanted} pagination.",
                details={"modes": list(self.modes)},
            )
        return wanted

    def _position(self, token: str, ordering: str, filters: Mapping[str, Any], now: float) -> Position:
        assert self.codec is not None
        return self.codec.decode(token, ordering=ordering, filters=filters_text(filters), now=now)

    # --- building pages -----------------------------------------------------------------------------------
    def cursor_for(self, request: PageRequest, values: Sequence[Any], *, backward: bool = False) -> str:
        """A cursor for the position just after (or before) a row with these sort values, under ``request``.

        For links to a known row ("continue from here"), or a cursor made from a row
        your code found by other means. The values are in the order of ``request.ordering``.
        """
        if self.codec is None:
            raise ConfigurationError("this pagination has no cursor mode")
        if len(values) != len(request.ordering):
            raise ValueError(f"one value per sort key: {request.sort}")
        position = Position(tuple(values), backward)
        return self.codec.encode(
            position, ordering=request.sort, filters=filters_text(request.filters), now=request.now
        )

    def page(self, request: PageRequest, window: Window, *, total: Total, values: Values | None = None) -> Page[Any]:
        """Turn a backend's :class:`Window` into a :class:`Page`, signing the neighbouring cursors.

        A backend of your own can use :func:`backendkit.pagination.backend.finish` instead,
        which also takes care of the total.
        """
        return page_of(request, window, total=total, values=values)

    def paginate_sequence(
        self, items: Sequence[Any], request: PageRequest, *, values: Values | None = None, sorted_by: str | None = None
    ) -> Page[Any]:
        """Paginate a list (or any sequence) in memory; see :func:`paginate_sequence` (and its ``sorted_by``)."""
        return paginate_sequence(items, request, values=values, sorted_by=sorted_by)


def _single_values(pairs: QueryPairs, filters: Mapping[str, Any]) -> dict[str, str]:
    """The pagination, sort and filter parameters by name; a repeated one is a 400."""
    wanted = {"cursor", *_REPEAT_ERRORS, *filters}
    given: dict[str, str] = {}
    for name, value in pairs:
        if name not in wanted:
            continue
        if name in given:
            error = _REPEAT_ERRORS.get(name, InvalidCursor if name == "cursor" else InvalidFilter)
            raise error(f"The parameter {name!r} is given more than once.", details={"parameter": name})
        given[name] = value
    return given
