"""What only the Django QuerySet backend has: ``.values()`` QuerySets (the shared cases are in test_orms.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from backendkit.pagination import Pagination, SortSpec
from tests.pagination.orms import ORMS, Database, DjangoDatabase, database
from tests.pagination.walk import walk

SECRET = "django-secret-0123456789"


@pytest.fixture(scope="module", params=[name for name in ORMS if name.startswith("django")])
def orm(request: pytest.FixtureRequest) -> Iterator[Database]:
    schema = request.getfixturevalue("postgres_schema") if "postgresql" in request.param else None
    with database(request.param, schema) as opened:
        yield opened


def test_values_querysets_page_as_dicts(orm: Database) -> None:
    from tests.pagination.djangoapp.models import Item

    assert isinstance(orm, DjangoDatabase)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    orm.load([{"id": i, "a": None, "b": None, "c": 0, "at": start + timedelta(minutes=i // 2)} for i in range(1, 10)])
    pages = Pagination(sort=SortSpec(["at", "id"], default="-at"), secrets=[SECRET])
    values = Item.objects.using(orm.alias).values("id", "at")
    forward, backward = walk(lambda pairs: orm.page(pages.parse(pairs, now=0.0), values), "-at", 2)
    assert forward == [8, 9, 6, 7, 4, 5, 2, 3, 1]
    assert backward == forward
