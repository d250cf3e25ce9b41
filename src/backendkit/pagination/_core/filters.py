"""Filter values: parsed by the endpoint's parsers, then held to what a database column can hold.

A parser (``int``, ``str``, :func:`boolean`, :func:`integer`, one of your own) turns
the query text into a value, and your code compares a column with it. A value that
no column can hold must not reach the driver, where it is a 500 (SQLite's
``OverflowError``, PostgreSQL's "out of range"): it is refused here, once for every
backend and framework, with a 400 ``INVALID_FILTER`` that names the bound.

- Integers: a 64-bit signed integer, what SQLite and PostgreSQL's ``bigint`` store
  (or the narrower bounds of an :func:`integer` parser).
- Decimals: finite, and within PostgreSQL's ``numeric`` (131072 digits before the
  point, 16383 after), the widest decimal column there is.
- Text: no NUL character, which PostgreSQL's text cannot hold.
- Datetimes with a time zone: a moment that exists in UTC, which Django converts
  every datetime to.

Lists, tuples and sets a parser returns are checked item by item.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from backendkit.errors import ConfigurationError
from backendkit.pagination._core.errors import InvalidFilter

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_NUMERIC_DIGITS_BEFORE_POINT = 131072
_NUMERIC_DIGITS_AFTER_POINT = 16383
_EARLIEST, _LATEST = "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"
# What int() reads as a whole number; it refuses one of these only when it has too many digits.
_WHOLE_NUMBER_TEXT = re.compile(r"\s*[+-]?[0-9]+(?:_[0-9]+)*\s*", re.ASCII)

Parser = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class IntegerFilter:
    """A filter parser for whole numbers from ``minimum`` to ``maximum``; made by :func:`integer`."""

    minimum: int = INT64_MIN
    maximum: int = INT64_MAX

    def __post_init__(self) -> None:
        if not INT64_MIN <= self.minimum <= self.maximum <= INT64_MAX:
            raise ConfigurationError("integer filters need -2**63 <= minimum <= maximum <= 2**63 - 1")

    def __call__(self, raw: str) -> int:
        return int(raw)


def integer(minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> IntegerFilter:
    """A filter parser for whole numbers from ``minimum`` to ``maximum`` (both included).

    A value outside them is a 400 ``INVALID_FILTER`` whose ``details`` give both
    bounds, and the documented schema of the parameter says them too. ``int`` as a
    parser has the bounds of a 64-bit signed integer; give narrower ones for a
    narrower column (PostgreSQL's ``integer`` holds 32 bits, and SQLAlchemy casts a
    bound value to the column's type, so a larger one fails in the database), or
    the range that makes sense.

    Example:
        >>> from backendkit.pagination import InvalidFilter, Pagination
        >>> pages = Pagination(modes=["page"], filters={"priority": integer(1, 5)})
        >>> pages.parse([("priority", "3")], now=0.0).filters
        {'priority': 3}
        >>> try:
        ...     pages.parse([("priority", "6")], now=0.0)
        ... except InvalidFilter as error:
        ...     print(error.details)
        {'parameter': 'priority', 'minimum': 1, 'maximum': 5}
    """
    return IntegerFilter(minimum, maximum)


def integer_bounds(parser: Parser) -> tuple[int, int] | None:
    """The bounds of a whole-number parser (``int`` or :func:`integer`), ``None`` for any other parser."""
    if isinstance(parser, IntegerFilter):
        return parser.minimum, parser.maximum
    return (INT64_MIN, INT64_MAX) if parser is int else None


def parse_filters(parsers: Mapping[str, Parser], given: Mapping[str, str]) -> dict[str, Any]:
    """The filters the client gave (an empty one counts as absent), parsed and checked; 400 on a bad one."""
    return {
        name: parse_filter(name, parser, given[name]) for name, parser in parsers.items() if given.get(name, "") != ""
    }


def parse_filter(name: str, parser: Parser, raw: str) -> Any:
    """``parser(raw)`` if a database column can hold it; :class:`InvalidFilter` otherwise."""
    bounds = integer_bounds(parser)
    try:
        value = parser(raw)
    except (ValueError, TypeError, ArithmeticError):
        if bounds is not None and _WHOLE_NUMBER_TEXT.fullmatch(raw):
            raise _out_of_range(name, bounds) from None
        raise InvalidFilter(details={"parameter": name}) from None
    _check(name, value, bounds or (INT64_MIN, INT64_MAX))
    return value


def _check(name: str, value: Any, bounds: tuple[int, int]) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not bounds[0] <= value <= bounds[1]:
            raise _out_of_range(name, bounds)
    elif isinstance(value, Decimal):
        if not _numeric(value):
            raise InvalidFilter(
                f"The filter {name!r} must be a finite number of at most {_NUMERIC_DIGITS_BEFORE_POINT} digits"
                f" before the point and {_NUMERIC_DIGITS_AFTER_POINT} after.",
                details={"parameter": name},
            )
    elif isinstance(value, str):
        if "\x00" in value:
            raise InvalidFilter(f"The filter {name!r} cannot contain a NUL character.", details={"parameter": name})
    elif isinstance(value, datetime):
        if not _exists_in_utc(value):
            raise InvalidFilter(
                f"The filter {name!r} must be a moment from {_EARLIEST} to {_LATEST}.",
                details={"parameter": name, "minimum": _EARLIEST, "maximum": _LATEST},
            )
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _check(name, item, bounds)


def _out_of_range(name: str, bounds: tuple[int, int]) -> InvalidFilter:
    low, high = bounds
    return InvalidFilter(
        f"The filter {name!r} must be a whole number from {low} to {high}.",
        details={"parameter": name, "minimum": low, "maximum": high},
    )


def _numeric(value: Decimal) -> bool:
    if not value.is_finite():
        return False
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite Decimal's is
    return value.adjusted() < _NUMERIC_DIGITS_BEFORE_POINT and exponent >= -_NUMERIC_DIGITS_AFTER_POINT


def _exists_in_utc(value: datetime) -> bool:
    if value.utcoffset() is None:
        return True  # naive: it is compared as it is
    try:
        value.astimezone(timezone.utc)
    except OverflowError:
        return False
    return True
