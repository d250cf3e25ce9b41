"""``GET /items?price=`` on a real database, the way docs/pagination.md tells a user to write it, per framework.

FastAPI and Flask page a SQLAlchemy ``select()`` on SQLite; Django pages the ORM's
``Item`` (its ``n`` column holds the price). A price past 64 bits was a 500 on the
first two (SQLite's driver raised ``OverflowError``) and a 200 on Django.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backendkit.pagination import PageRequest, Pagination, SortSpec

PRICES = Pagination(sort=SortSpec(["id"], default="id"), modes=["page"], filters={"price": int})
ROWS = [{"id": 1, "price": 5}, {"id": 2, "price": 2**63 - 1}]

metadata = MetaData()
priced = Table(
    "priced_items", metadata, Column("id", Integer, primary_key=True), Column("price", BigInteger, nullable=False)
)


def statement(filters: dict[str, Any]) -> Any:
    chosen = select(priced)
    return chosen.where(priced.c.price == filters["price"]) if "price" in filters else chosen


def fastapi_app(engine: Engine) -> Any:
    from fastapi import Depends, FastAPI

    from backendkit.fastapi import install
    from backendkit.fastapi.pagination import page_request, page_response
    from backendkit.pagination.backends.sqlalchemy import paginate

    app = FastAPI()
    install(app)

    # FastAPI 0.110 resolves annotations in the module's globals only: PageRequest is imported
    # at the top, and the response (a Response, which needs no model) is not annotated.
    @app.get("/items", response_model=None)
    def items(pages: PageRequest = Depends(page_request(PRICES))):  # noqa: B008
        with Session(engine) as session:
            page = paginate(session, statement(dict(pages.filters)), pages)
            return page_response(page, [dict(row._mapping) for row in page.items])

    return app


def flask_app(engine: Engine) -> Any:
    from flask import Flask, Response

    from backendkit.flask import BackendKit
    from backendkit.flask.pagination import page_request, page_response
    from backendkit.pagination.backends.sqlalchemy import paginate

    app = Flask(__name__)
    BackendKit(app)

    @app.get("/items")
    def items() -> Response:
        pages = page_request(PRICES)
        with Session(engine) as session:
            page = paginate(session, statement(dict(pages.filters)), pages)
            return page_response(page, [dict(row._mapping) for row in page.items])

    return app


def django_items(request: Any) -> Any:
    from backendkit.django.pagination import page_request, page_response, paginate
    from tests.pagination.djangoapp.models import Item

    pages = page_request(request, PRICES)
    query = Item.objects.all()
    if "price" in pages.filters:
        query = query.filter(n=pages.filters["price"])
    page = paginate(query, pages)
    return page_response(page, [{"id": item.id, "price": item.n} for item in page.items])


def django_urlpatterns() -> list[Any]:
    from django.urls import path

    return [path("items", django_items)]


urlpatterns: list[Any] = []  # filled in by the test that serves Django with this module as its URLconf
