"""Links to the neighbouring pages: only to pages that exist, and only to numbers the server takes."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.pagination import (
    Capped,
    Estimate,
    InvalidPage,
    Pagination,
    SortSpec,
    Total,
    Window,
    paginate_sequence,
)

SECRET = "neighbours-secret-0123456789"
MAXIMUM = 999_999_999_999
SEVEN = [{"id": i} for i in range(1, 8)]


def pages(**options: Any) -> Pagination:
    return Pagination(sort=SortSpec(["id"], default="id"), secrets=[SECRET], **options)


def page_of(rows: list[dict[str, Any]], query: list[tuple[str, str]], **options: Any) -> Any:
    p = pages(**options)
    return paginate_sequence(rows, p.parse(query, now=0.0, path="/x"))


def neighbours(page: Any) -> tuple[Any, ...]:
    meta = page.metadata()
    if meta["mode"] == "page":
        return meta["next_page"], meta["prev_page"], meta["total_pages"]
    return meta["next_offset"], meta["prev_offset"], meta["total"]


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("1", (2, None, 3)),
        ("3", (None, 2, 3)),  # the last page: its rows are there, so is the page before
        ("4", (None, 3, 3)),  # just past the end: the page before is the last one
        ("9", (None, 3, 3)),  # far past the end: back to the last page, not to page 8
        ("4294967296", (None, 3, 3)),  # was prev_page 4294967295, another empty page
        (str(MAXIMUM), (None, 3, 3)),
    ],
)
def test_page_mode_links_only_to_pages_that_exist(number: str, expected: tuple[Any, ...]) -> None:
    page = page_of(SEVEN, [("page", number), ("per_page", "3")])
    assert neighbours(page) == expected
    links = page.links()
    assert links["first"] == "/x?page=1&per_page=3"
    assert links["last"] == "/x?page=3&per_page=3"
    assert links.get("prev") == (None if expected[1] is None else f"/x?page={expected[1]}&per_page=3")


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        ("10", (15, 5, 23)),
        ("18", (None, 13, 23)),
        ("23", (None, 18, 23)),  # past the end, but offset 18 holds rows (18 to 22)
        ("27", (None, 22, 23)),  # and offset 22 holds one
        ("100", (None, 20, 23)),  # far past: the last page, the one rel="last" names
        (str(MAXIMUM), (None, 20, 23)),
    ],
)
def test_offset_mode_links_only_to_offsets_that_hold_rows(offset: str, expected: tuple[Any, ...]) -> None:
    rows = [{"id": i} for i in range(23)]
    page = page_of(rows, [("offset", offset), ("limit", "5")], modes=["offset"])
    assert neighbours(page) == expected
    assert page.links()["last"] == "/x?offset=20&limit=5"


def test_past_the_end_of_an_empty_list_the_first_page_is_the_last() -> None:
    page = page_of([], [("page", "5")])
    assert neighbours(page) == (None, 1, 1)
    assert page.links() == {"prev": "/x?page=1", "first": "/x?page=1", "last": "/x?page=1"}


@pytest.mark.parametrize("count", ["none", Estimate(lambda rows: 1000), Capped(2)])
def test_past_the_end_without_an_exact_total_there_is_no_previous_page_to_name(count: Any) -> None:
    # Which page is the last one, only an exact count tells; linking page - 1 would guess (maybe another empty page).
    for query, mode in (([("page", "9"), ("per_page", "3")], "page"), ([("offset", "40"), ("limit", "3")], "offset")):
        page = page_of(SEVEN, query, count=count)
        assert page.items == []
        next_index, prev_index, _ = neighbours(page)
        assert (next_index, prev_index) == (None, None)
        assert set(page.links()) == {"first"}, (count, mode)


@pytest.mark.parametrize("count", ["none", Estimate(lambda rows: 1000), Capped(2)])
def test_a_page_with_rows_links_to_the_one_before_whatever_the_count(count: Any) -> None:
    page = page_of(SEVEN, [("page", "2"), ("per_page", "3")], count=count)
    assert (page.metadata()["next_page"], page.metadata()["prev_page"]) == (3, 1)
    offset = page_of(SEVEN, [("offset", "3"), ("limit", "3")], count=count)
    assert (offset.metadata()["next_offset"], offset.metadata()["prev_offset"]) == (6, 0)


def test_a_capped_count_that_proves_the_rows_before_links_to_them() -> None:
    rows = [{"id": i} for i in range(30)]
    page = page_of(rows, [("offset", "30"), ("limit", "5")], count=Capped(26))  # counted: more than 26
    assert (page.metadata()["total"], page.metadata()["total_kind"]) == (26, "more_than")
    assert page.metadata()["prev_offset"] == 25  # rows 25 and 26 are known to exist


@pytest.mark.parametrize(("name", "minimum"), [("page", 1), ("offset", 0)])
@pytest.mark.parametrize("value", [str(MAXIMUM + 1), "92233720368547758", "9" * 40])
def test_a_page_or_offset_past_the_maximum_is_a_400_that_names_it(name: str, minimum: int, value: str) -> None:
    with pytest.raises(InvalidPage) as refused:
        pages().parse([(name, value)], now=0.0)
    assert refused.value.details == {"parameter": name, "minimum": minimum, "maximum": MAXIMUM}
    assert f"from {minimum} to {MAXIMUM}" in refused.value.message


@pytest.mark.parametrize(("name", "minimum"), [("page", 1), ("offset", 0)])
def test_a_page_or_offset_below_the_minimum_gives_the_maximum_too(name: str, minimum: int) -> None:
    with pytest.raises(InvalidPage) as refused:
        pages().parse([(name, str(minimum - 1))], now=0.0)
    assert refused.value.details == {"parameter": name, "minimum": minimum, "maximum": MAXIMUM}


def test_no_link_to_a_page_past_the_maximum() -> None:
    p = pages()
    request = p.parse([("page", str(MAXIMUM)), ("per_page", "1")], now=0.0, path="/x")
    page = p.page(request, Window([{"id": 1}], has_next=True, has_prev=True), total=Total())
    assert (page.metadata()["has_more"], page.metadata()["next_page"]) == (True, None)
    assert "next" not in page.links()
    request = p.parse([("offset", str(MAXIMUM - 2)), ("limit", "5")], now=0.0, path="/x")
    page = p.page(request, Window([{"id": 1}] * 5, has_next=True, has_prev=True), total=Total())
    assert page.metadata()["next_offset"] is None
    huge = p.page(request, Window([], has_next=False, has_prev=True), total=Total(10**15, "exact"))
    assert "last" not in huge.links()  # offset 10**15 - 5 is not one the server takes


@settings(max_examples=300, deadline=None)
@given(number=st.one_of(st.integers(-5, 10**14), st.integers(MAXIMUM - 5, MAXIMUM + 5)), zeros=st.integers(0, 2))
def test_a_page_or_offset_is_taken_exactly_when_the_documented_schema_admits_it(number: int, zeros: int) -> None:
    p = pages()
    schemas = {parameter.name: parameter.schema for parameter in p.query_parameters()}
    for name, minimum in (("page", 1), ("offset", 0)):
        text = str(number) if number < 0 else "0" * zeros + str(number)
        if not minimum <= number <= MAXIMUM:
            with pytest.raises(InvalidPage) as refused:
                p.parse([(name, text)], now=0.0)
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(number, schemas[name])
            bound = schemas[name]["anyOf"][0]
            assert (refused.value.details["minimum"], refused.value.details["maximum"]) == (
                bound["minimum"],
                bound["maximum"],
            )
            continue
        jsonschema.validate(number, schemas[name])
        request = p.parse([(name, text)], now=0.0)
        assert (request.page if name == "page" else request.offset) == number


def test_cursor_pages_past_every_row_link_nowhere() -> None:
    rows = [{"id": i} for i in range(1, 6)]
    p = pages()
    first = paginate_sequence(rows, p.parse([("limit", "2")], now=0.0, path="/x"))
    assert first.next_cursor is not None
    forward = [("limit", "2"), ("cursor", first.next_cursor)]
    emptied = paginate_sequence(rows[:2], p.parse(forward, now=0.0, path="/x"))  # every later row deleted
    assert (emptied.items, emptied.next_cursor, emptied.prev_cursor, emptied.link_header()) == ([], None, None, None)
    second = paginate_sequence(rows, p.parse(forward, now=0.0, path="/x"))
    assert second.prev_cursor is not None
    backward = [("limit", "2"), ("cursor", second.prev_cursor)]
    gone = paginate_sequence(rows[2:], p.parse(backward, now=0.0, path="/x"))  # every earlier row deleted
    assert (gone.items, gone.next_cursor, gone.prev_cursor, gone.link_header()) == ([], None, None, None)
