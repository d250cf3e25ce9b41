"""What only the SQLAlchemy backend has: column selects, its count queries (the shared cases are in test_orms.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from backendkit.errors import ConfigurationError
from backendkit.pagination import Pagination, SortSpec
from tests.pagination.sql import BACKENDS, Harness, harness, items
from tests.pagination.walk import PAGES

SECRET = "sql-secret-0123456789abc"


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest) -> Iterator[Harness]:
    schema = request.getfixturevalue("postgres_schema") if request.param.startswith("postgresql") else None
    with harness(request.param, schema) as h:
        yield h


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
