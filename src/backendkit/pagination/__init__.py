"""Pagination: offset and page numbers, and keyset cursors that are signed, versioned and bound to their query.

The package is a pure core: it parses query parameters, signs and checks cursors,
describes which rows follow a position (:func:`seek`) and renders a page as a body
and a ``Link`` header. Backends fetch rows, each on top of the public
``backendkit.pagination.backend``: :func:`paginate_sequence` for lists,
``backendkit.pagination.backends.sqlalchemy`` for SQLAlchemy 2.0 and
``backendkit.pagination.backends.django`` for QuerySets. Framework adapters read
the request and write the response.

Examples:
    >>> from backendkit.pagination import Pagination, SortSpec
    >>> tasks = [{"id": i, "priority": i % 3} for i in range(1, 8)]
    >>> pages = Pagination(sort=SortSpec(["priority", "id"], default="-priority"),
    ...                    secrets=["a-secret-of-at-least-16-bytes"])
    >>> first = pages.paginate_sequence(tasks, pages.parse([("limit", "3")], now=0.0))
    >>> [t["id"] for t in first.items]
    [2, 5, 1]
    >>> after = pages.parse([("limit", "3"), ("cursor", first.next_cursor)], now=0.0)
    >>> [t["id"] for t in pages.paginate_sequence(tasks, after).items]
    [4, 7, 3]
"""

from __future__ import annotations

from backendkit.pagination._core.counts import Capped, CountStrategy, Estimate, Total
from backendkit.pagination._core.cursor import CursorCodec, Position
from backendkit.pagination._core.errors import InvalidCursor, InvalidFilter, InvalidPage, InvalidPageSize, InvalidSort
from backendkit.pagination._core.filters import integer
from backendkit.pagination._core.keyset import (
    Condition,
    KeysetKey,
    Seek,
    Window,
    keyset_window,
    matches,
    offset_window,
    seek,
)
from backendkit.pagination._core.page import Page
from backendkit.pagination._core.pagination import Pagination
from backendkit.pagination._core.parameters import QueryParameter
from backendkit.pagination._core.params import PageSize, boolean
from backendkit.pagination._core.query import parse_query
from backendkit.pagination._core.request import FetchPlan, Mode, PageRequest
from backendkit.pagination._core.sort import Ordering, SortKey, SortSpec, format_ordering
from backendkit.pagination._core.values import filters_text
from backendkit.pagination.backends.sequence import paginate_sequence, sort_rows

__all__ = [
    "Capped",
    "Condition",
    "CountStrategy",
    "CursorCodec",
    "Estimate",
    "FetchPlan",
    "InvalidCursor",
    "InvalidFilter",
    "InvalidPage",
    "InvalidPageSize",
    "InvalidSort",
    "KeysetKey",
    "Mode",
    "Ordering",
    "Page",
    "PageRequest",
    "PageSize",
    "Pagination",
    "Position",
    "QueryParameter",
    "Seek",
    "SortKey",
    "SortSpec",
    "Total",
    "Window",
    "boolean",
    "filters_text",
    "format_ordering",
    "integer",
    "keyset_window",
    "matches",
    "offset_window",
    "paginate_sequence",
    "parse_query",
    "seek",
    "sort_rows",
]
