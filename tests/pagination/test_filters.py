"""Filter values: what a parser returns is held to what a database column can hold, once, in the core."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.errors import ConfigurationError, encode
from backendkit.pagination import InvalidFilter, Pagination, boolean, integer

INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}


def refusal(pages: Pagination, name: str, value: str) -> InvalidFilter:
    with pytest.raises(InvalidFilter) as caught:
        pages.parse([(name, value)], now=0.0)
    return caught.value


@pytest.mark.parametrize(
    "value", ["99999999999999999999999", str(2**63), str(-(2**63) - 1), "9" * 5000, "-" + "1" * 4301, " +1_" + "0" * 30]
)
def test_an_integer_past_64_bits_is_a_400_that_names_the_bound(value: str) -> None:
    # It was a 500 on SQLite (the driver's OverflowError) and a 200 on Django: now a 400 before any backend.
    pages = Pagination(modes=["page"], filters={"price": int})
    error = refusal(pages, "price", value)
    assert (error.status, error.code) == (400, "INVALID_FILTER")
    assert error.details == {"parameter": "price", **INT64}
    assert "-9223372036854775808 to 9223372036854775807" in error.message
    assert b'"maximum":9223372036854775807' in encode({"details": error.details})


def test_the_64_bit_bounds_themselves_are_taken() -> None:
    pages = Pagination(modes=["page"], filters={"price": int})
    for value in (2**63 - 1, -(2**63), 0):
        assert pages.parse([("price", str(value))], now=0.0).filters == {"price": value}


DIGITS = st.one_of(
    st.integers(0, 2**70).map(str),
    st.integers(2**63 - 3, 2**63 + 3).map(str),  # around both 64-bit bounds, with the sign
    st.text("0123456789", min_size=1, max_size=5000),  # past Python's own limit on int() (4300 digits)
)


@settings(max_examples=400, deadline=None)
@given(
    digits=DIGITS,
    negative=st.booleans(),
    zeros=st.integers(0, 3),
    plus=st.booleans(),
    space=st.booleans(),
    low=st.integers(-(2**63), 2**63 - 1),
    high=st.integers(-(2**63), 2**63 - 1),
    bounded=st.booleans(),
)
def test_any_whole_number_is_taken_within_the_bound_or_is_a_400_naming_it(
    digits: str, negative: bool, zeros: int, plus: bool, space: bool, low: int, high: int, bounded: bool
) -> None:
    low, high = min(low, high), max(low, high)
    parser: Any = integer(low, high) if bounded else int
    minimum, maximum = (low, high) if bounded else (-(2**63), 2**63 - 1)
    pages = Pagination(modes=["page"], filters={"n": parser})
    text = ("-" if negative else "+" if plus else "") + "0" * zeros + digits
    text = f" {text}\t" if space else text
    significant = digits.lstrip("0") or "0"
    number = None if len(significant) > 30 else int(significant) * (-1 if negative else 1)  # None: past every bound
    if number is None or not minimum <= number <= maximum:
        with pytest.raises(InvalidFilter) as refused:
            pages.parse([("n", text)], now=0.0)
        assert refused.value.details == {"parameter": "n", "minimum": minimum, "maximum": maximum}
        return
    assert pages.parse([("n", text)], now=0.0).filters == {"n": number}
    schema = next(p.schema for p in pages.query_parameters() if p.name == "n")
    jsonschema.validate(number, schema)  # what is taken fits the documented schema


def test_the_documented_schema_gives_the_same_bounds_as_the_400() -> None:
    pages = Pagination(modes=["page"], filters={"price": int, "priority": integer(1, 5), "done": boolean})
    schemas = {p.name: p.schema for p in pages.query_parameters()}
    assert schemas["price"]["anyOf"][0] == {"type": "integer", **INT64}
    assert schemas["priority"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 5}
    for name, value in (("price", 2**63), ("priority", 6), ("priority", 0)):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value, schemas[name])
        bound = schemas[name]["anyOf"][0]
        assert refusal(pages, name, str(value)).details == {
            "parameter": name,
            "minimum": bound["minimum"],
            "maximum": bound["maximum"],
        }


@pytest.mark.parametrize(("minimum", "maximum"), [(5, 1), (-(2**63) - 1, 0), (0, 2**63)])
def test_integer_bounds_outside_64_bits_or_upside_down_fail_at_start_up(minimum: int, maximum: int) -> None:
    with pytest.raises(ConfigurationError):
        integer(minimum, maximum)


def test_an_integer_from_any_parser_is_held_to_64_bits_and_so_are_the_items_of_a_list() -> None:
    def cents(raw: str) -> int:
        return int(raw) * 100

    def ids(raw: str) -> list[int]:
        return [int(x) for x in raw.split(",")]

    pages = Pagination(modes=["page"], filters={"cents": cents, "ids": ids})
    assert refusal(pages, "cents", str(2**62)).details == {"parameter": "cents", **INT64}
    assert refusal(pages, "ids", f"1,{2**64},3").details == {"parameter": "ids", **INT64}
    assert pages.parse([("ids", "1,2"), ("cents", "3")], now=0.0).filters == {"ids": [1, 2], "cents": 300}


@pytest.mark.parametrize("value", ["NaN", "sNaN", "-Infinity", "Infinity", "1E+131072", "1E-16384", "0E-20000"])
def test_a_decimal_no_numeric_column_holds_is_a_400(value: str) -> None:
    # sNaN was a 500 on SQLite through SQLAlchemy, NaN and Infinity on Django, the others on PostgreSQL.
    pages = Pagination(modes=["page"], filters={"amount": Decimal})
    error = refusal(pages, "amount", value)
    assert error.details == {"parameter": "amount"}
    assert "131072 digits before the point and 16383 after" in error.message


@pytest.mark.parametrize("value", ["9.999E+131071", "-9.999E+131071", "1E-16383", "0", "-12.50"])
def test_a_decimal_a_numeric_column_holds_is_taken(value: str) -> None:
    pages = Pagination(modes=["page"], filters={"amount": Decimal})
    assert pages.parse([("amount", value)], now=0.0).filters == {"amount": Decimal(value)}


def test_text_with_a_nul_is_a_400() -> None:
    # PostgreSQL's text cannot hold NUL: the driver raised a DataError, a 500, on both ORMs.
    pages = Pagination(modes=["page"], filters={"q": str})
    assert refusal(pages, "q", "caf\x00e").details == {"parameter": "q"}
    assert pages.parse([("q", "café \u0001")], now=0.0).filters == {"q": "café \u0001"}


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"])
def test_a_datetime_that_does_not_exist_in_utc_is_a_400_naming_the_range(value: str) -> None:
    # Django converts a datetime to UTC before it queries; on SQLite that raised OverflowError, a 500.
    pages = Pagination(modes=["page"], filters={"since": datetime.fromisoformat})
    error = refusal(pages, "since", value)
    assert error.details == {
        "parameter": "since",
        "minimum": "0001-01-01T00:00:00+00:00",
        "maximum": "9999-12-31T23:59:59.999999+00:00",
    }


def test_datetimes_within_utc_and_naive_ones_are_taken() -> None:
    pages = Pagination(modes=["page"], filters={"since": datetime.fromisoformat})
    for value in ("0001-01-01T00:01:00+00:01", "9999-12-31T23:58:59-00:01", "0001-01-01T00:00:00", "2026-05-01"):
        parsed = pages.parse([("since", value)], now=0.0).filters["since"]
        assert parsed == datetime.fromisoformat(value)
    assert datetime.fromisoformat("0001-01-01T00:01:00+00:01").astimezone(timezone.utc).year == 1
