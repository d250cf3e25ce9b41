"""``paginate_sequence(..., sorted_by=...)``: a bisection over a sorted list gives exactly the pages a sort gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.pagination import Page, Pagination, SortSpec, paginate_sequence, sort_rows
from tests.pagination.walk import PAGES, orderings, rows_strategy

SECRET = "sorted-sequence-secret-0123456789"


def flipped(sort: str) -> str:
    return ",".join(part[1:] if part.startswith("-") else f"-{part}" for part in sort.split(","))


def same(left: Page[Any], right: Page[Any]) -> None:
    assert [id(item) for item in left.items] == [id(item) for item in right.items]
    assert (left.has_next, left.has_prev, left.next_cursor, left.prev_cursor) == (
        right.has_next,
        right.has_prev,
        right.next_cursor,
        right.prev_cursor,
    )
    assert left.body()["pagination"] == right.body()["pagination"]


@settings(max_examples=300, deadline=None)
@given(
    rows=rows_strategy(),
    sort=orderings(),
    limit=st.integers(1, 6),
    reverse=st.booleans(),
    pick=st.integers(0, 1000),
    backward=st.booleans(),
)
def test_a_sorted_sequence_pages_as_the_sorting_path_does(
    rows: list[dict[str, Any]], sort: str, limit: int, reverse: bool, pick: int, backward: bool
) -> None:
    """From the first page, from any row's cursor either way, and walking on: the same pages, the same cursors."""
    first = PAGES.parse([("sort", sort), ("limit", str(limit))], now=0.0)
    order = flipped(first.sort) if reverse else first.sort  # the list is in the asked order or its reverse
    listed = sort_rows(rows, PAGES.parse([("sort", order)], now=0.0).keyset_keys(), reader(order))
    starts = [first]
    if listed:
        row = listed[pick % len(listed)]
        cursor = PAGES.cursor_for(first, [row[name] for name in first.names], backward=backward)
        starts.append(PAGES.parse([("sort", sort), ("limit", str(limit)), ("cursor", cursor)], now=0.0))
    for request in starts:
        for _ in range(len(rows) + 2):  # walk on in the start's direction, to the end
            old = paginate_sequence(rows, request)
            new = paginate_sequence(listed, request, sorted_by=order)
            same(new, old)
            going_back = request.position is not None and request.position.backward
            token = old.prev_cursor if going_back else old.next_cursor
            if token is None:
                break
            request = PAGES.parse([("sort", sort), ("limit", str(limit)), ("cursor", token)], now=0.0)


def reader(order: str) -> Any:
    names = PAGES.parse([("sort", order)], now=0.0).names
    return lambda row: tuple(row[name] for name in names)


@settings(max_examples=200, deadline=None)
@given(rows=rows_strategy(), sort=orderings(), limit=st.integers(1, 6), offset=st.integers(0, 30), page=st.booleans())
def test_offset_and_page_modes_on_a_sorted_sequence_match(
    rows: list[dict[str, Any]], sort: str, limit: int, offset: int, page: bool
) -> None:
    pairs = (
        [("page", str(offset + 1)), ("per_page", str(limit))]
        if page
        else [("offset", str(offset)), ("limit", str(limit))]
    )
    request = PAGES.parse([("sort", sort), *pairs], now=0.0)
    listed = sort_rows(rows, request.keyset_keys(), reader(request.sort))
    same(paginate_sequence(listed, request, sorted_by=request.sort), paginate_sequence(rows, request))


def test_another_order_than_the_sequences_is_sorted_as_before() -> None:
    rows = [{"id": i, "a": (i * 7) % 5} for i in range(1, 30)]  # in id order
    request = PAGES.parse([("sort", "-a"), ("limit", "4")], now=0.0)
    same(paginate_sequence(rows, request, sorted_by="id"), paginate_sequence(rows, request))
    assert [r["id"] for r in paginate_sequence(rows, request, sorted_by="id").items] == [2, 7, 12, 17]


def test_a_page_of_a_sorted_list_reads_a_few_rows_not_the_list() -> None:
    """The point of ``sorted_by``: the sort values of a handful of rows are read, whatever the list's length."""
    pages = Pagination(sort=SortSpec(["id"], default="id"), secrets=[SECRET])
    rows = [{"id": i} for i in range(1, 1001)]
    reads: list[int] = []

    def values(row: dict[str, Any]) -> tuple[Any, ...]:
        reads.append(row["id"])
        return (row["id"],)

    first = pages.paginate_sequence(rows, pages.parse([("limit", "20")], now=0.0), values=values, sorted_by="id")
    after = pages.parse([("limit", "20"), ("cursor", first.next_cursor or "")], now=0.0)
    reads.clear()
    second = pages.paginate_sequence(rows, after, values=values, sorted_by="id")
    assert [r["id"] for r in second.items] == list(range(21, 41))
    assert len(reads) <= 14  # ~log2(1000) for the bisection, and the two neighbours' cursors
    reads.clear()
    pages.paginate_sequence(rows, after, values=values)
    assert len(reads) == 1000 + 2  # the sorting path reads every row once, and the cursors' rows


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def byte_by_byte(text: str, safe: str) -> str:
    """The links' quoting as it was written first: one byte at a time."""
    keep = _UNRESERVED | frozenset(safe.encode("ascii"))
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode("utf-8", "surrogatepass"))


@settings(max_examples=500, deadline=None)
@given(text=st.text(), safe=st.sampled_from(["", "/"]))
def test_link_quoting_is_the_byte_by_byte_quoting(text: str, safe: str) -> None:
    from backendkit.pagination._core.page import quote

    assert quote(text, safe=safe) == byte_by_byte(text, safe)


def test_no_filters_have_the_text_of_an_empty_filter_list() -> None:
    import json

    from backendkit.pagination import filters_text

    assert filters_text({}) == json.dumps([], separators=(",", ":"))
