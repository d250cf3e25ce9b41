"""The Django QuerySet backend on SQLite and PostgreSQL, sync and async: the same walks as the other backends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backendkit.django.pagination import apaginate, paginate
from backendkit.pagination import Capped, Page, PageRequest, Pagination, SortSpec
from tests.pagination.walk import PAGES, expected_order, orderings, rows_strategy, walk, walk_with_churn

SECRET = "django-secret-0123456789"


class ORM:
    """One database alias, paged through the sync or the async API."""

    def __init__(self, alias: str, asynchronous: bool) -> None:
        self.alias = alias
        self.asynchronous = asynchronous
        self.loop = asyncio.new_event_loop()

    def load(self, rows: list[dict[str, Any]]) -> None:
        from tests.pagination.djangoapp.models import Item

        Item.objects.using(self.alias).all().delete()
        Item.objects.using(self.alias).bulk_create([Item(**{"at": None, **row}) for row in rows])

    def page(self, request: PageRequest, queryset: Any = None, **options: Any) -> Page[Any]:
        from tests.pagination.djangoapp.models import Item

        queryset = Item.objects.using(self.alias).all() if queryset is None else queryset
        if self.asynchronous:
            return self.loop.run_until_complete(apaginate(queryset, request, **options))
        return paginate(queryset, request, **options)


@pytest.fixture(scope="module", params=["sqlite", "sqlite-async", "postgresql", "postgresql-async"])
def orm(request: pytest.FixtureRequest) -> Iterator[ORM]:
    from django.db import connections

    from tests.pagination.djangoapp.models import Item

    alias = "postgres" if request.param.startswith("postgresql") else "default"
    if alias == "postgres":
        request.getfixturevalue("postgres_schema")
    with connections[alias].schema_editor() as editor:
        editor.create_model(Item)
    orm = ORM(alias, request.param.endswith("async"))
    try:
        yield orm
    finally:
        orm.loop.close()
        with connections[alias].schema_editor() as editor:
            editor.delete_model(Item)
        connections.close_all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy(max_size=18), sort=orderings(), limit=st.integers(1, 5))
def test_walking_forward_then_back_sees_every_row_once_in_order(
    orm: ORM, rows: list[dict[str, Any]], sort: str, limit: int
) -> None:
    orm.load(rows)
    forward, backward = walk(lambda pairs: orm.page(PAGES.parse(pairs, now=0.0)), sort, limit)
    assert forward == expected_order(rows, sort)
    assert backward == forward


def test_a_list_cursor_resumes_on_the_orm(orm: ORM) -> None:
    rows = [{"id": i, "a": i % 3 or None, "b": None, "c": i % 2} for i in range(1, 12)]
    orm.load(rows)
    pairs = [("limit", "4"), ("sort", "-a,c")]
    listed = PAGES.paginate_sequence(rows, PAGES.parse(pairs, now=0.0))
    assert listed.next_cursor is not None
    after = [*pairs, ("cursor", listed.next_cursor)]
    resumed = orm.page(PAGES.parse(after, now=0.0))
    expected = PAGES.paginate_sequence(rows, PAGES.parse(after, now=0.0))
    assert [r.id for r in resumed.items] == [r["id"] for r in expected.items]
    assert resumed.next_cursor == expected.next_cursor


def test_datetimes_and_values_querysets(orm: ORM) -> None:
    from tests.pagination.djangoapp.models import Item

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    orm.load([{"id": i, "a": None, "b": None, "c": 0, "at": start + timedelta(minutes=i // 2)} for i in range(1, 10)])
    pages = Pagination(sort=SortSpec(["at", "id"], default="-at"), secrets=[SECRET])
    values = Item.objects.using(orm.alias).values("id", "at")
    forward, backward = walk(lambda pairs: orm.page(pages.parse(pairs, now=0.0), values), "-at", 2)
    assert forward == [8, 9, 6, 7, 4, 5, 2, 3, 1]
    assert backward == forward


def test_page_mode_counts_and_capped_counts(orm: ORM) -> None:
    orm.load([{"id": i, "a": i, "b": None, "c": 0} for i in range(1, 26)])
    page = orm.page(PAGES.parse([("page", "2"), ("per_page", "10")], now=0.0, path="/items"))
    assert [r.id for r in page.items] == list(range(11, 21))
    assert (page.total.value, page.total.kind, page.total_pages) == (25, "exact", 3)
    capped = Pagination(sort=SortSpec(["a", "id"], default="a"), secrets=[SECRET], count=Capped(10))
    page = orm.page(capped.parse([("limit", "5")], now=0.0))
    assert (page.total.value, page.total.kind) == (10, "more_than")


def test_renamed_sort_fields(orm: ORM) -> None:
    orm.load([{"id": i, "a": 10 - i, "b": None, "c": 0} for i in range(1, 8)])
    pages = Pagination(sort=SortSpec(["rank", "id"], default="rank"), secrets=[SECRET])
    first = orm.page(pages.parse([("limit", "3")], now=0.0), fields={"rank": "a"})
    assert [r.id for r in first.items] == [7, 6, 5]
    second = orm.page(pages.parse([("limit", "3"), ("cursor", first.next_cursor or "")], now=0.0), fields={"rank": "a"})
    assert [r.id for r in second.items] == [4, 3, 2]


def test_without_a_sort_the_queryset_keeps_its_own_order(orm: ORM) -> None:
    from tests.pagination.djangoapp.models import Item

    orm.load([{"id": i, "a": i % 4, "b": None, "c": 0} for i in range(1, 9)])
    plain = Pagination(modes=["page"])
    queryset = Item.objects.using(orm.alias).order_by("-a", "-id")
    page = orm.page(plain.parse([("per_page", "3")], now=0.0), queryset)
    assert [r.id for r in page.items] == [7, 3, 6]


def test_rows_inserted_and_deleted_between_pages_never_skip_or_repeat_an_old_row(orm: ORM) -> None:
    rows = [{"id": i, "a": i % 4 or None, "b": None, "c": i % 2} for i in range(1, 25)]
    walk_with_churn(orm.load, lambda pairs: orm.page(PAGES.parse(pairs, now=0.0)), rows)
