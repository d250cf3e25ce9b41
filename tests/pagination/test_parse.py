"""Parsing query parameters: page sizes, modes, sort allowlist, filters, repeated and hostile values."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.errors import BadRequest, ConfigurationError
from backendkit.pagination import (
    InvalidCursor,
    InvalidFilter,
    InvalidPage,
    InvalidPageSize,
    InvalidSort,
    PageSize,
    Pagination,
    SortSpec,
    boolean,
    format_ordering,
)

SECRET = "parse-secret-0123456789"
SORT = SortSpec(["priority", "created_at", "title", "id"], default="-priority,id")


def pages(**options: Any) -> Pagination:
    return Pagination(sort=SORT, secrets=[SECRET], filters={"priority": int, "done": boolean}, **options)


def parse(query: list[tuple[str, str]], **options: Any) -> Any:
    return pages(**options).parse(query, now=0.0)


def error_of(query: list[tuple[str, str]], **options: Any) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse(query, **options)
    assert caught.value.status == 400
    return caught.value


def test_defaults_cursor_mode_twenty_items_default_sort() -> None:
    request = parse([])
    assert (request.mode, request.limit, request.offset, request.sort, request.clamped) == (
        "cursor",
        20,
        0,
        "-priority,id",
        False,
    )


@pytest.mark.parametrize(
    ("query", "mode", "limit", "offset", "page"),
    [
        ([("page", "3")], "page", 20, 40, 3),
        ([("per_page", "5")], "page", 5, 0, 1),
        ([("page", "2"), ("per_page", "10")], "page", 10, 10, 2),
        ([("offset", "7")], "offset", 20, 7, None),
        ([("offset", "7"), ("limit", "3")], "offset", 3, 7, None),
        ([("limit", "100")], "cursor", 100, 0, None),
    ],
)
def test_the_mode_follows_the_parameters(
    query: list[tuple[str, str]], mode: str, limit: int, offset: int, page: int | None
) -> None:
    request = parse(query)
    assert (request.mode, request.limit, request.offset, request.page) == (mode, limit, offset, page)


def test_over_the_maximum_clamps_by_default_and_says_so() -> None:
    request = parse([("limit", "500")])
    assert (request.limit, request.clamped) == (100, True)


def test_over_the_maximum_can_be_refused() -> None:
    error = error_of([("per_page", "101")], page_size=PageSize(oversize="reject"))
    assert isinstance(error, InvalidPageSize)
    assert error.details == {"parameter": "per_page", "minimum": 1, "maximum": 100}


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", " 5", "+5", "1_0", "\uff15", "\u0663", "1e3", "9" * 40])
@pytest.mark.parametrize("name", ["limit", "per_page"])
def test_a_page_size_that_is_not_a_positive_whole_number_is_invalid_page_size(name: str, value: str) -> None:
    assert error_of([(name, value)]).code == "INVALID_PAGE_SIZE"


@pytest.mark.parametrize(("name", "value"), [("page", "0"), ("page", "-2"), ("page", "x"), ("offset", "-1")])
def test_a_bad_page_or_offset_is_invalid_page(name: str, value: str) -> None:
    assert error_of([(name, value)]).code == "INVALID_PAGE"


@pytest.mark.parametrize(
    "query",
    [
        [("cursor", "abc"), ("page", "2")],
        [("cursor", "abc"), ("offset", "2")],
        [("page", "2"), ("offset", "2")],
        [("page", "2"), ("limit", "2")],
    ],
)
def test_modes_cannot_be_mixed(query: list[tuple[str, str]]) -> None:
    assert isinstance(error_of(query), InvalidPage)


def test_a_mode_the_endpoint_does_not_offer_is_invalid_page() -> None:
    error = error_of([("page", "2")], modes=["cursor"])
    assert isinstance(error, InvalidPage)
    assert error.details == {"modes": ["cursor"]}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("limit", InvalidPageSize),
        ("page", InvalidPage),
        ("sort", InvalidSort),
        ("cursor", InvalidCursor),
        ("priority", InvalidFilter),
    ],
)
def test_a_repeated_parameter_is_refused_not_guessed(name: str, kind: type[BadRequest]) -> None:
    assert isinstance(error_of([(name, "1"), (name, "2")]), kind)


def test_sort_adds_the_tiebreaker_and_accepts_plus() -> None:
    assert parse([("sort", "title,-created_at")]).sort == "title,-created_at,id"
    assert parse([("sort", " title")]).sort == "title,id"  # "+title" once the query string is decoded
    assert parse([("sort", "+title")]).sort == "title,id"
    assert parse([("sort", "-id,title")]).sort == "-id,title"


@pytest.mark.parametrize("sort", ["secret", "priority;drop table", "priority,,id", "-", "priority,priority", "x" * 300])
def test_an_unknown_or_malformed_sort_is_invalid_sort(sort: str) -> None:
    assert error_of([("sort", sort)]).code == "INVALID_SORT"


@settings(max_examples=300)
@given(sort=st.text(max_size=60))
def test_any_sort_text_is_either_an_allowed_ordering_or_invalid_sort(sort: str) -> None:
    try:
        request = parse([("sort", sort)])
    except InvalidSort:
        return
    assert {key.name for key in request.ordering} <= SORT.allowed
    assert request.ordering[-1].name == "id" or "id" in request.names


def test_filters_are_parsed_by_their_parser_and_bad_values_refused() -> None:
    assert parse([("priority", "3"), ("done", "true"), ("other", "x")]).filters == {"priority": 3, "done": True}
    error = error_of([("priority", "high")])
    assert isinstance(error, InvalidFilter)
    assert error.details == {"parameter": "priority"}


def test_a_cursor_is_bound_to_its_filters() -> None:
    p = pages()
    rows = [{"id": i, "priority": 3, "done": False} for i in range(5)]
    first = p.paginate_sequence(rows, p.parse([("limit", "2"), ("priority", "3")], now=0.0))
    assert first.next_cursor is not None
    error = error_of([("limit", "2"), ("priority", "4"), ("cursor", first.next_cursor)])
    assert error.details == {"reason": "filter_mismatch"}
    other_sort = error_of([("limit", "2"), ("priority", "3"), ("sort", "title"), ("cursor", first.next_cursor)])
    assert other_sort.details == {"reason": "sort_mismatch"}


@pytest.mark.parametrize(
    "options",
    [
        {"sort": None, "secrets": [SECRET]},
        {"sort": SORT, "secrets": None},
        {"sort": SORT, "secrets": []},
        {"sort": SORT, "secrets": [SECRET], "modes": ["cursor", "cursor"]},
        {"sort": SORT, "secrets": [SECRET], "modes": ["pages"]},
        {"sort": SORT, "secrets": [SECRET], "filters": {"limit": int}},
        {"sort": SORT, "secrets": [SECRET], "count": "all"},
    ],
)
def test_bad_configuration_fails_at_start_up(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Pagination(**options)


def test_offset_only_pagination_needs_no_secret() -> None:
    plain = Pagination(modes=["page"])
    assert plain.parse([("page", "2")], now=0.0).offset == 20
    with pytest.raises(InvalidSort):
        plain.parse([("sort", "id")], now=0.0)


@pytest.mark.parametrize(("default", "allowed"), [("nope", ["id"]), ("", ["id"])])
def test_a_default_sort_outside_the_allowlist_is_a_configuration_error(default: str, allowed: list[str]) -> None:
    with pytest.raises(ConfigurationError):
        SortSpec(allowed, default=default)


def test_format_ordering_is_the_parse_inverse() -> None:
    assert format_ordering(SORT.parse("-title,priority")) == "-title,priority,id"
