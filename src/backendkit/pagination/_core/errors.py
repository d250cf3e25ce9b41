"""The 400 answers of pagination: each a :class:`~backendkit.errors.BadRequest` with its own code.

Hierarchy::

    BadRequest
     +-- InvalidPageSize   INVALID_PAGE_SIZE  limit / per_page not a whole number, < 1, or over the maximum
     +-- InvalidPage       INVALID_PAGE       page / offset not a whole number or out of range; modes mixed
     +-- InvalidCursor     INVALID_CURSOR     tampered, expired, foreign or mismatched cursor
     +-- InvalidSort       INVALID_SORT       unknown sort field, bad syntax
     +-- InvalidFilter     INVALID_FILTER     a filter value that does not parse
"""

from __future__ import annotations

from backendkit.errors import BadRequest


class InvalidPageSize(BadRequest):
    """400: the page size is not a whole number from 1 to the maximum."""

    code = "INVALID_PAGE_SIZE"
    message = "The page size must be a whole number from 1 to the maximum."


class InvalidPage(BadRequest):
    """400: the page number or offset is not usable."""

    code = "INVALID_PAGE"
    message = "The page or offset is not valid."


class InvalidCursor(BadRequest):
    """400: the cursor was not issued by this endpoint for this query, or has expired.

    ``details["reason"]`` says which: ``malformed``, ``too_long``, ``signature``,
    ``version``, ``expired``, ``sort_mismatch`` or ``filter_mismatch``.
    """

    code = "INVALID_CURSOR"
    message = "The cursor is not valid for this request; start again from the first page."


class InvalidSort(BadRequest):
    """400: the sort parameter names a field that cannot be sorted on, or is malformed."""

    code = "INVALID_SORT"
    message = "The sort parameter is not valid."


class InvalidFilter(BadRequest):
    """400: a filter parameter has a value of the wrong form."""

    code = "INVALID_FILTER"
    message = "A filter parameter is not valid."


def invalid_cursor(reason: str) -> InvalidCursor:
    """An :class:`InvalidCursor` that says why."""
    return InvalidCursor(details={"reason": reason})
