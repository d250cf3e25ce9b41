"""The SQLAlchemy backend on SQLite and PostgreSQL, sync and asyncio: the same walks as the list backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from backendkit._settings import ConfigurationError
from backendkit.pagination import Capped, Estimate, Pagination, SortSpec
from tests.pagination.sql import BACKENDS, Harness, harness, items
from tests.pagination.walk import PAGES, expected_order, orderings, rows_strategy, walk, walk_with_churn

SECRET = "sql-secret-0123456789abc"


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest) -> Iterator[Harness]:
    schema = request.getfixturevalue("postgres_schema") if request.param.startswith("postgresql") else None
    with harness(request.param, schema) as h:
        yield h


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy(max_size=18), sort=orderings(), limit=st.integers(1, 5))
def test_walking_forward_then_back_sees_every_row_once_in_order(
    db: Harness, rows: list[dict[str, Any]], sort: str, limit: int
) -> None:
    db.load(rows)
    forward, backward = walk(lambda pairs: db.page(PAGES.parse(pairs, now=0.0)), sort, limit)
    assert forward == expected_order(rows, sort)
    assert backward == forward


def test_the_same_cursor_works_on_every_backend(db: Harness) -> None:
    """One cursor format: a cursor made from a list page resumes the same walk on SQL."""
    rows = [{"id": i, "a": i % 3 or None, "b": None, "c": i % 2} for i in range(1, 12)]
    db.load(rows)
    pairs = [("limit", "4"), ("sort", "-a,c")]
    from_list = PAGES.paginate_sequence(rows, PAGES.parse(pairs, now=0.0))
    assert from_list.next_cursor is not None
    resumed = db.page(PAGES.parse([*pairs, ("cursor", from_list.next_cursor)], now=0.0))
    listed = PAGES.paginate_sequence(rows, PAGES.parse([*pairs, ("cursor", from_list.next_cursor)], now=0.0))
    assert [r.id for r in resumed.items] == [r["id"] for r in listed.items]
    assert resumed.next_cursor == listed.next_cursor


def test_datetimes_with_time_zones_page_correctly(db: Harness) -> None:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = [{"id": i, "a": None, "b": None, "c": 0, "at": start + timedelta(minutes=i // 2)} for i in range(1, 10)]
    db.load(rows)
    pages = Pagination(sort=SortSpec(["at", "id"], default="-at"), secrets=[SECRET])
    forward, backward = walk(lambda pairs: db.page(pages.parse(pairs, now=0.0)), "-at", 2)
    assert forward == [8, 9, 6, 7, 4, 5, 2, 3, 1]  # -at, then the id tiebreaker ascending
    assert backward == forward


def test_page_and_offset_modes_count_only_when_needed(db: Harness) -> None:
    rows = [{"id": i, "a": i, "b": None, "c": 0} for i in range(1, 26)]
    db.load(rows)
    counts: list[str] = []
    engine = db._sync.sync_engine if hasattr(db._sync, "sync_engine") else (db._sync or db._async.sync_engine)

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "count(" in statement.lower():
            counts.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = db.page(PAGES.parse([("page", "2"), ("per_page", "10")], now=0.0, path="/items"))
        assert [r.id for r in page.items] == list(range(11, 21))
        assert page.body()["pagination"]["total"] == 25
        assert len(counts) == 1
        last = db.page(PAGES.parse([("page", "3"), ("per_page", "10")], now=0.0))
        assert [r.id for r in last.items] == list(range(21, 26))
        assert (last.total.value, last.total.kind) == (25, "exact")
        assert len(counts) == 1, "a page that is not full ends the list: no count needed"
        offset = db.page(PAGES.parse([("offset", "5"), ("limit", "3"), ("sort", "-a")], now=0.0))
        assert [r.id for r in offset.items] == [20, 19, 18]
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_capped_and_estimated_counts(db: Harness) -> None:
    db.load([{"id": i, "a": i, "b": None, "c": 0} for i in range(1, 31)])
    capped = Pagination(sort=SortSpec(["a", "id"], default="a"), secrets=[SECRET], count=Capped(10))
    page = db.page(capped.parse([("limit", "5")], now=0.0))
    assert (page.total.value, page.total.kind) == (10, "more_than")
    estimated = Pagination(
        sort=SortSpec(["a", "id"], default="a"), secrets=[SECRET], count=Estimate(lambda statement: 1234)
    )
    page = db.page(estimated.parse([("limit", "5")], now=0.0))
    assert (page.total.value, page.total.kind) == (1234, "estimate")


def test_column_selects_and_renamed_sort_fields(db: Harness) -> None:
    db.load([{"id": i, "a": 10 - i, "b": None, "c": 0} for i in range(1, 8)])
    pages = Pagination(sort=SortSpec(["rank", "id"], default="rank"), secrets=[SECRET])
    statement = select(items.c.id, items.c.a.label("rank"))
    first = db.page(pages.parse([("limit", "3")], now=0.0), statement, columns={"rank": items.c.a})
    assert [row.id for row in first.items] == [7, 6, 5]
    second = db.page(
        pages.parse([("limit", "3"), ("cursor", first.next_cursor or "")], now=0.0),
        statement,
        columns={"rank": items.c.a},
    )
    assert [row.id for row in second.items] == [4, 3, 2]


def test_an_unknown_sort_column_is_a_configuration_error(db: Harness) -> None:
    pages = Pagination(sort=SortSpec(["nope", "id"], default="nope"), secrets=[SECRET])
    with pytest.raises(ConfigurationError, match="no column named 'nope'"):
        db.page(pages.parse([], now=0.0), select(items.c.id))


def test_user_input_reaches_sql_only_as_bound_values(db: Harness) -> None:
    hostile = "x'); DROP TABLE walk_items; --"
    db.load([{"id": 1, "a": 1, "b": hostile, "c": 0}, {"id": 2, "a": 1, "b": "y", "c": 0}])
    pages = Pagination(sort=SortSpec(["b", "id"], default="b"), secrets=[SECRET])
    first = db.page(pages.parse([("limit", "1")], now=0.0))
    second = db.page(pages.parse([("limit", "1"), ("cursor", first.next_cursor or "")], now=0.0))
    assert [r.b for r in first.items + second.items] == [hostile, "y"]
    assert db.count() == 2


def test_without_a_sort_the_statement_keeps_its_own_order(db: Harness) -> None:
    db.load([{"id": i, "a": i % 4, "b": None, "c": 0} for i in range(1, 9)])
    plain = Pagination(modes=["page"])
    statement = select(items).order_by(items.c.a.desc(), items.c.id.desc())
    page = db.page(plain.parse([("per_page", "3")], now=0.0), statement)
    assert [r.id for r in page.items] == [7, 3, 6]


def test_rows_inserted_and_deleted_between_pages_never_skip_or_repeat_an_old_row(db: Harness) -> None:
    rows = [{"id": i, "a": i % 4 or None, "b": None, "c": i % 2} for i in range(1, 25)]
    walk_with_churn(db.load, lambda pairs: db.page(PAGES.parse(pairs, now=0.0)), rows)
