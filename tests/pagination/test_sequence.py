"""The in-memory backend: walks, NULLs, offsets and counts."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.pagination import Capped, Estimate, Pagination, SortSpec, matches, paginate_sequence, seek, sort_rows
from backendkit.pagination._core.keyset import _holds, travel_keys
from tests.pagination.walk import PAGES, expected_order, orderings, rows_strategy, walk

SECRET = "sequence-secret-0123456789"


@settings(max_examples=300, deadline=None)
@given(rows=rows_strategy(), sort=orderings(), limit=st.integers(1, 6))
def test_walking_forward_then_back_sees_every_row_once_in_order(
    rows: list[dict[str, Any]], sort: str, limit: int
) -> None:
    forward, backward = walk(lambda pairs: paginate_sequence(rows, PAGES.parse(pairs, now=0.0)), sort, limit)
    assert forward == expected_order(rows, sort)
    assert backward == forward


def test_nulls_come_last_ascending_and_first_descending() -> None:
    rows = [{"id": 1, "a": None}, {"id": 2, "a": 1}, {"id": 3, "a": 0}]
    pages = Pagination(sort=SortSpec(["a"], default="a"), secrets=[SECRET])
    up = paginate_sequence(rows, pages.parse([("sort", "a")], now=0.0))
    down = paginate_sequence(rows, pages.parse([("sort", "-a")], now=0.0))
    assert [r["id"] for r in up.items] == [3, 2, 1]
    assert [r["id"] for r in down.items] == [1, 2, 3]


def test_page_mode_numbers_pages_and_counts_exactly() -> None:
    rows = [{"id": i} for i in range(1, 46)]
    pages = Pagination(sort=SortSpec(["id"], default="id"), secrets=[SECRET])
    page = paginate_sequence(rows, pages.parse([("page", "2"), ("per_page", "20")], now=0.0, path="/x"))
    meta = page.body()["pagination"]
    assert [r["id"] for r in page.items] == list(range(21, 41))
    assert meta == {
        "mode": "page",
        "page": 2,
        "per_page": 20,
        "clamped": False,
        "sort": "id",
        "has_more": True,
        "next_page": 3,
        "prev_page": 1,
        "total_pages": 3,
        "total": 45,
        "total_kind": "exact",
    }
    assert page.links() == {
        "next": "/x?page=3&per_page=20",
        "prev": "/x?page=1&per_page=20",
        "first": "/x?page=1&per_page=20",
        "last": "/x?page=3&per_page=20",
    }


def test_offset_mode_and_its_links() -> None:
    rows = [{"id": i} for i in range(1, 26)]
    pages = Pagination(sort=SortSpec(["id"], default="-id"), secrets=[SECRET], modes=["offset"])
    page = paginate_sequence(rows, pages.parse([("offset", "10"), ("limit", "10")], now=0.0, path="/x"))
    assert [r["id"] for r in page.items] == list(range(15, 5, -1))
    assert page.links() == {
        "next": "/x?offset=20&limit=10",
        "prev": "/x?offset=0&limit=10",
        "first": "/x?offset=0&limit=10",
        "last": "/x?offset=20&limit=10",
    }


def test_counts_capped_and_estimated() -> None:
    rows = [{"id": i} for i in range(1, 51)]
    capped = Pagination(sort=SortSpec(["id"], default="id"), secrets=[SECRET], count=Capped(10))
    meta = paginate_sequence(rows, capped.parse([], now=0.0)).body()["pagination"]
    assert (meta["total"], meta["total_kind"]) == (10, "more_than")
    estimated = Pagination(sort=SortSpec(["id"], default="id"), secrets=[SECRET], count=Estimate(lambda rows: 60))
    meta = paginate_sequence(rows, estimated.parse([], now=0.0)).body()["pagination"]
    assert (meta["total"], meta["total_kind"]) == (60, "estimate")
    small = paginate_sequence(rows[:5], capped.parse([], now=0.0)).body()["pagination"]
    assert (small["total"], small["total_kind"]) == (5, "exact")


def test_item_cursors_resume_right_after_their_item() -> None:
    rows = [{"id": i, "a": i % 3} for i in range(1, 10)]
    pages = Pagination(sort=SortSpec(["a"], default="a"), secrets=[SECRET], item_cursors=True)
    page = paginate_sequence(rows, pages.parse([("limit", "4")], now=0.0))
    cursors = page.body()["pagination"]["cursors"]
    assert len(cursors) == 4
    resumed = paginate_sequence(rows, pages.parse([("limit", "2"), ("cursor", cursors[1])], now=0.0))
    assert [r["id"] for r in resumed.items] == [r["id"] for r in page.items[2:4]]


def test_rows_added_and_removed_between_pages_never_skip_or_repeat_an_old_row() -> None:
    rows = [{"id": i, "a": i % 4} for i in range(1, 31)]
    original = {r["id"] for r in rows}
    pages = Pagination(sort=SortSpec(["a"], default="-a"), secrets=[SECRET])
    seen: list[int] = []
    pairs = [("limit", "4")]
    page = paginate_sequence(rows, pages.parse(pairs, now=0.0))
    next_id = 100
    while True:
        seen.extend(r["id"] for r in page.items)
        # Between fetches: a row is inserted on either side of the position, and one not yet seen is deleted.
        rows.append({"id": next_id, "a": next_id % 4})
        next_id += 1
        unseen = [r for r in rows if r["id"] not in seen and r["id"] in original]
        if unseen:
            rows.remove(unseen[-1])
            original.discard(unseen[-1]["id"])
        if page.next_cursor is None:
            break
        page = paginate_sequence(rows, pages.parse([*pairs, ("cursor", page.next_cursor)], now=0.0))
    old_seen = [i for i in seen if i < 100]
    assert len(old_seen) == len(set(old_seen))
    assert set(old_seen) == original


def test_cursor_for_a_known_row_resumes_right_after_it() -> None:
    rows = [{"id": i, "a": i % 3} for i in range(1, 10)]
    pages = Pagination(sort=SortSpec(["a"], default="-a"), secrets=[SECRET], filters={"a": int})
    request = pages.parse([("limit", "3")], now=0.0)
    token = pages.cursor_for(request, (2, 5))
    resumed = paginate_sequence(rows, pages.parse([("limit", "3"), ("cursor", token)], now=0.0))
    assert [r["id"] for r in resumed.items] == [8, 1, 4]


@settings(max_examples=300, deadline=None)
@given(rows=rows_strategy(), sort=orderings(), backward=st.booleans(), pick=st.integers(0, 1000))
def test_seek_branches_in_turn_give_the_rows_after_the_position_in_order(
    rows: list[dict[str, Any]], sort: str, backward: bool, pick: int
) -> None:
    """What the SQL backends do: fetch branch after branch, each sorted; the result is the seek's, in order."""
    if not rows:
        return
    request = PAGES.parse([("sort", sort)], now=0.0)
    keys = request.keyset_keys(lambda name: name not in ("c", "id"))
    read = lambda row: tuple(row[name] for name in request.names)  # noqa: E731
    moving = travel_keys(keys, backward)
    ordered = sort_rows(rows, moving, read)
    position = read(ordered[pick % len(ordered)])
    condition = seek(keys, position, backward=backward)
    expected = [r for r in ordered if matches(condition, lambda name, r=r: r[name])]
    by_branch = [r for branch in condition.branches for r in ordered if all(_holds(c, r[c.field]) for c in branch)]
    assert by_branch == expected
    assert [read(r) for r in expected] == [read(r) for r in ordered[ordered.index(ordered[pick % len(ordered)]) + 1 :]]
