"""One table of cases for every database backend: SQLAlchemy and the Django ORM, sync and async.

A backend's async twin differs from its sync one in its fetch loop only (the rest
is ``backendkit.pagination.backend.finish``); these cases hold all eight to the
same answers, and to the list backend's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backendkit.errors import ConfigurationError
from backendkit.pagination import Capped, Estimate, InvalidFilter, Pagination, SortSpec, integer
from tests.pagination.orms import ORMS, Database, database
from tests.pagination.walk import PAGES, expected_order, orderings, rows_strategy, walk, walk_with_churn

SECRET = "orm-secret-0123456789abcd"


@pytest.fixture(scope="module", params=ORMS)
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    schema = request.getfixturevalue("postgres_schema") if "postgresql" in request.param else None
    with database(request.param, schema) as opened:
        yield opened


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy(max_size=18), sort=orderings(), limit=st.integers(1, 5))
def test_walking_forward_then_back_sees_every_row_once_in_order(
    db: Database, rows: list[dict[str, Any]], sort: str, limit: int
) -> None:
    db.load(rows)
    forward, backward = walk(lambda pairs: db.page(PAGES.parse(pairs, now=0.0)), sort, limit)
    assert forward == expected_order(rows, sort)
    assert backward == forward


def test_a_list_cursor_resumes_the_same_walk(db: Database) -> None:
    """One cursor format: a cursor made from a list page resumes the same walk on a database."""
    rows = [{"id": i, "a": i % 3 or None, "b": None, "c": i % 2} for i in range(1, 12)]
    db.load(rows)
    pairs = [("limit", "4"), ("sort", "-a,c")]
    listed = PAGES.paginate_sequence(rows, PAGES.parse(pairs, now=0.0))
    assert listed.next_cursor is not None
    after = [*pairs, ("cursor", listed.next_cursor)]
    resumed = db.page(PAGES.parse(after, now=0.0))
    expected = PAGES.paginate_sequence(rows, PAGES.parse(after, now=0.0))
    assert [r.id for r in resumed.items] == [r["id"] for r in expected.items]
    assert resumed.next_cursor == expected.next_cursor


def test_datetimes_with_time_zones_page_correctly(db: Database) -> None:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    db.load([{"id": i, "a": None, "b": None, "c": 0, "at": start + timedelta(minutes=i // 2)} for i in range(1, 10)])
    pages = Pagination(sort=SortSpec(["at", "id"], default="-at"), secrets=[SECRET])
    forward, backward = walk(lambda pairs: db.page(pages.parse(pairs, now=0.0)), "-at", 2)
    assert forward == [8, 9, 6, 7, 4, 5, 2, 3, 1]  # -at, then the id tiebreaker ascending
    assert backward == forward


def test_page_mode_counts_and_a_short_page_tells_its_total(db: Database) -> None:
    db.load([{"id": i, "a": i, "b": None, "c": 0} for i in range(1, 26)])
    page = db.page(PAGES.parse([("page", "2"), ("per_page", "10")], now=0.0, path="/items"))
    assert [r.id for r in page.items] == list(range(11, 21))
    assert (page.total.value, page.total.kind, page.total_pages) == (25, "exact", 3)
    last = db.page(PAGES.parse([("page", "3"), ("per_page", "10")], now=0.0))
    assert [r.id for r in last.items] == list(range(21, 26))
    assert (last.total.value, last.total.kind) == (25, "exact")
    offset = db.page(PAGES.parse([("offset", "5"), ("limit", "3"), ("sort", "-a")], now=0.0))
    assert [r.id for r in offset.items] == [20, 19, 18]


def test_capped_and_estimated_counts(db: Database) -> None:
    db.load([{"id": i, "a": i, "b": None, "c": 0} for i in range(1, 31)])
    capped = Pagination(sort=SortSpec(["a", "id"], default="a"), secrets=[SECRET], count=Capped(10))
    page = db.page(capped.parse([("limit", "5")], now=0.0))
    assert (page.total.value, page.total.kind) == (10, "more_than")
    estimated = Pagination(sort=SortSpec(["a", "id"], default="a"), secrets=[SECRET], count=Estimate(lambda q: 1234))
    page = db.page(estimated.parse([("limit", "5")], now=0.0))
    assert (page.total.value, page.total.kind) == (1234, "estimate")


def test_an_async_estimate_is_awaited_by_the_async_backends(db: Database) -> None:
    # The Django async path once passed an async Estimate to int(); the SQLAlchemy one awaited it.
    db.load([{"id": i, "a": i, "b": None, "c": 0} for i in range(1, 31)])

    async def from_the_planner(query: Any) -> int:
        return 1234

    pages = Pagination(sort=SortSpec(["a", "id"], default="a"), secrets=[SECRET], count=Estimate(from_the_planner))
    request = pages.parse([("limit", "5")], now=0.0)
    if db.asynchronous:
        page = db.page(request)
        assert (page.total.value, page.total.kind) == (1234, "estimate")
    else:
        with pytest.raises(ConfigurationError, match="async backend"):
            db.page(request)


def test_renamed_sort_fields(db: Database) -> None:
    db.load([{"id": i, "a": 10 - i, "b": None, "c": 0} for i in range(1, 8)])
    pages = Pagination(sort=SortSpec(["rank", "id"], default="rank"), secrets=[SECRET])
    first = db.page(pages.parse([("limit", "3")], now=0.0), rename={"rank": "a"})
    assert [r.id for r in first.items] == [7, 6, 5]
    second = db.page(pages.parse([("limit", "3"), ("cursor", first.next_cursor or "")], now=0.0), rename={"rank": "a"})
    assert [r.id for r in second.items] == [4, 3, 2]


def test_without_a_sort_the_query_keeps_its_own_order(db: Database) -> None:
    db.load([{"id": i, "a": i % 4, "b": None, "c": 0} for i in range(1, 9)])
    plain = Pagination(modes=["page"])
    page = db.page(plain.parse([("per_page", "3")], now=0.0), db.ordered("-a", "-id"))
    assert [r.id for r in page.items] == [7, 3, 6]


def test_user_input_reaches_the_database_only_as_bound_values(db: Database) -> None:
    hostile = "x'); DROP TABLE walk_items; DROP TABLE pagination_tests_item; --"
    db.load([{"id": 1, "a": 1, "b": hostile, "c": 0}, {"id": 2, "a": 1, "b": "y", "c": 0}])
    pages = Pagination(sort=SortSpec(["b", "id"], default="b"), secrets=[SECRET])
    first = db.page(pages.parse([("limit", "1")], now=0.0))
    second = db.page(pages.parse([("limit", "1"), ("cursor", first.next_cursor or "")], now=0.0))
    assert [r.b for r in first.items + second.items] == [hostile, "y"]
    assert [r.id for r in db.page(pages.parse([("limit", "5")], now=0.0)).items] == [1, 2]


def test_rows_inserted_and_deleted_between_pages_never_skip_or_repeat_an_old_row(db: Database) -> None:
    rows = [{"id": i, "a": i % 4 or None, "b": None, "c": i % 2} for i in range(1, 25)]
    walk_with_churn(db.load, lambda pairs: db.page(PAGES.parse(pairs, now=0.0)), rows)


FILTERS = Pagination(
    sort=SortSpec(["id"], default="id"),
    modes=["page"],
    filters={
        "n": int,  # a 64-bit column (BIGINT): int's own bound
        "a": integer(-(2**31), 2**31 - 1),  # a 32-bit column (PostgreSQL's integer): a narrower bound
        "d": Decimal,
        "b": str,
        "at": datetime.fromisoformat,
    },
)
FILTER_ROWS = [
    {"id": 1, "a": 2**31 - 1, "b": "x", "c": 0, "n": 2**63 - 1, "d": Decimal("1.5")},
    {"id": 2, "a": -(2**31), "b": "y", "c": 0, "n": -(2**63), "d": Decimal("-1.5")},
    {"id": 3, "a": 0, "b": "z", "c": 0, "n": 0, "d": Decimal("2.5")},
]
# (filter, value at its bound) -> the ids that are equal to it, greater and less
AT_THE_BOUNDS = {
    ("n", "9223372036854775807"): ([1], [], [2, 3]),
    ("n", "-9223372036854775808"): ([2], [1, 3], []),
    ("a", "2147483647"): ([1], [], [2, 3]),
    ("a", "-2147483648"): ([2], [1, 3], []),
    ("d", "9.999E+131071"): ([], [], [1, 2, 3]),
    ("d", "-9.999E+131071"): ([], [1, 2, 3], []),
    ("d", "1E-16383"): ([], [1, 3], [2]),
    ("at", "0001-01-01T14:00:00+14:00"): ([], [1, 2, 3], []),
    ("at", "9999-12-31T09:59:59.999999-14:00"): ([], [], [1, 2, 3]),
}
PAST_THE_BOUNDS = [
    ("n", "9223372036854775808"),
    ("n", "-9223372036854775809"),
    ("n", "99999999999999999999999"),
    ("a", "2147483648"),
    ("d", "1E+131072"),
    ("d", "1E-16384"),
    ("d", "NaN"),
    ("d", "sNaN"),
    ("d", "-Infinity"),
    ("b", "x\x00y"),
    ("at", "0001-01-01T00:00:00+14:00"),
    ("at", "9999-12-31T23:00:00-14:00"),
]


def test_filter_values_at_their_bounds_reach_the_database_and_past_them_are_a_400(db: Database) -> None:
    """The bounds are what every backend can compare a column with: at them a query runs, past them none is made.

    Past them, SQLite's driver raised OverflowError, PostgreSQL "out of range" or "cannot contain NUL",
    Django a ValidationError or an OverflowError: a 500 each, on some backends and not others.
    """
    stamp = datetime(2026, 1, 1, tzinfo=timezone.utc)
    db.load([{**row, "at": stamp} for row in FILTER_ROWS])
    for (name, value), expected in AT_THE_BOUNDS.items():
        request = FILTERS.parse([(name, value)], now=0.0)
        found = tuple(
            [row.id for row in db.page(request, db.where(name, op, request.filters[name])).items]
            for op in ("eq", "gt", "lt")
        )
        assert found == expected, (db.name, name, value)
    for name, value in PAST_THE_BOUNDS:
        with pytest.raises(InvalidFilter) as refused:
            FILTERS.parse([(name, value)], now=0.0)
        assert refused.value.details["parameter"] == name


def test_past_the_end_the_previous_page_is_the_last_one_when_the_count_tells_it(db: Database) -> None:
    db.load([{"id": i, "a": i, "b": None, "c": 0} for i in range(1, 8)])
    counted = db.page(PAGES.parse([("page", "4294967296"), ("per_page", "3")], now=0.0, path="/items"))
    assert (counted.items, counted.metadata()["prev_page"], counted.metadata()["total_pages"]) == ([], 3, 3)
    assert counted.links() == {
        "prev": "/items?page=3&per_page=3",
        "first": "/items?page=1&per_page=3",
        "last": "/items?page=3&per_page=3",
    }
    offset = db.page(PAGES.parse([("offset", "100"), ("limit", "3")], now=0.0))
    assert (offset.metadata()["prev_offset"], offset.metadata()["total"]) == (6, 7)
    uncounted = Pagination(sort=SortSpec(["a", "id"], default="a"), secrets=[SECRET], count="none")
    unknown = db.page(uncounted.parse([("page", "9"), ("per_page", "3")], now=0.0, path="/items"))
    assert (unknown.metadata()["prev_page"], unknown.metadata()["total"]) == (None, None)
    assert unknown.links() == {"first": "/items?page=1&per_page=3"}
