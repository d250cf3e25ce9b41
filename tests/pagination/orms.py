"""Every database backend behind one interface: SQLAlchemy and the Django ORM, SQLite and PostgreSQL, sync and async.

The cases in ``test_orms.py`` run against each of the eight, so a sync backend
and its async twin (and the two ORMs) are held to the same answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import select

from backendkit.pagination import Page, PageRequest
from tests.pagination.sql import harness, items
from tests.support.postgres import Schema

ORMS = [
    f"{orm}-{database}{'-async' if asynchronous else ''}"
    for orm in ("sqlalchemy", "django")
    for database in ("sqlite", "postgresql")
    for asynchronous in (False, True)
]


class Database(Protocol):
    """One backend on one database: rows in, pages out."""

    name: str
    asynchronous: bool

    def load(self, rows: list[dict[str, Any]]) -> None:
        """Replace the table's rows."""
        ...

    def page(self, request: PageRequest, query: Any = None, *, rename: dict[str, str] | None = None) -> Page[Any]:
        """A page of ``query`` (all rows by default); ``rename`` maps a sort name to a column."""
        ...

    def ordered(self, *fields: str) -> Any:
        """All rows in an order of the query's own (``"-a"``, ``"id"``), for modes without a sort."""
        ...

    def where(self, field: str, op: str, value: Any) -> Any:
        """The rows whose ``field`` is ``op`` (``"eq"``, ``"gt"``, ``"lt"``) ``value``, as an app applies a filter."""
        ...


class SQLAlchemyDatabase:
    def __init__(self, name: str, schema: Schema | None) -> None:
        self.name = name
        self.asynchronous = name.endswith("async")
        self._harness = harness(name.removeprefix("sqlalchemy-"), schema)
        self.harness = self._harness.__enter__()

    def load(self, rows: list[dict[str, Any]]) -> None:
        self.harness.load(rows)

    def page(self, request: PageRequest, query: Any = None, *, rename: dict[str, str] | None = None) -> Page[Any]:
        columns = {name: items.c[column] for name, column in (rename or {}).items()}
        if query is None and columns:  # the rows carry the renamed value too, for their cursors
            query = select(items, *(column.label(name) for name, column in columns.items()))
        return self.harness.page(request, query, columns=columns or None)

    def ordered(self, *fields: str) -> Any:
        order = [items.c[f.lstrip("-")].desc() if f.startswith("-") else items.c[f].asc() for f in fields]
        return select(items).order_by(*order)

    def where(self, field: str, op: str, value: Any) -> Any:
        column = items.c[field]
        return select(items).where({"eq": column == value, "gt": column > value, "lt": column < value}[op])

    def close(self) -> None:
        self._harness.__exit__(None, None, None)


class DjangoDatabase:
    def __init__(self, name: str) -> None:
        from django.db import connections

        from tests.pagination.djangoapp.models import Item

        self.name = name
        self.asynchronous = name.endswith("async")
        self.alias = "postgres" if "postgresql" in name else "default"
        self.loop = asyncio.new_event_loop()
        with connections[self.alias].schema_editor() as editor:
            editor.create_model(Item)

    def load(self, rows: list[dict[str, Any]]) -> None:
        from tests.pagination.djangoapp.models import Item

        Item.objects.using(self.alias).all().delete()
        Item.objects.using(self.alias).bulk_create([Item(**{"at": None, **row}) for row in rows])

    def page(self, request: PageRequest, query: Any = None, *, rename: dict[str, str] | None = None) -> Page[Any]:
        from backendkit.pagination.backends.django import apaginate, paginate

        query = self.ordered() if query is None else query
        if self.asynchronous:
            return self.loop.run_until_complete(apaginate(query, request, fields=rename))
        return paginate(query, request, fields=rename)

    def ordered(self, *fields: str) -> Any:
        from tests.pagination.djangoapp.models import Item

        return Item.objects.using(self.alias).order_by(*fields)

    def where(self, field: str, op: str, value: Any) -> Any:
        lookup = {"eq": "exact", "gt": "gt", "lt": "lt"}[op]
        return self.ordered().filter(**{f"{field}__{lookup}": value})

    def close(self) -> None:
        from django.db import connections

        from tests.pagination.djangoapp.models import Item

        self.loop.close()
        with connections[self.alias].schema_editor() as editor:
            editor.delete_model(Item)
        connections.close_all()


@contextmanager
def database(name: str, schema: Schema | None) -> Iterator[Database]:
    """The backend ``name`` (one of :data:`ORMS`) with its table created, and dropped at the end."""
    db: SQLAlchemyDatabase | DjangoDatabase = (
        SQLAlchemyDatabase(name, schema) if name.startswith("sqlalchemy") else DjangoDatabase(name)
    )
    try:
        yield db
    finally:
        db.close()
