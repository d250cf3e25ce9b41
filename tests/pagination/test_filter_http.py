"""A documented filter on a real database, through every framework's test client and over real servers.

``filters={"price": int}`` and ``?price=99999999999999999999999`` was a 500 on FastAPI
and Flask (SQLite's driver raised ``OverflowError``) and a 200 on Django. Now it is the
same 400 ``INVALID_FILTER`` everywhere, naming the bound, and the bound itself is served.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert

from tests.conformance import targets as t
from tests.pagination import filter_app
from tests.support.servers import uvicorn_server, waitress_server

INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}


@pytest.fixture(scope="module")
def every_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, t.Target]]:
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application
    from django.db import connections
    from django.test import override_settings

    from tests.pagination.djangoapp.models import Item

    database: Path = tmp_path_factory.mktemp("filters") / "items.sqlite3"
    engine = create_engine(f"sqlite:///{database}", connect_args={"check_same_thread": False})
    filter_app.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(filter_app.priced), filter_app.ROWS)
    with connections["default"].schema_editor() as editor:
        editor.create_model(Item)
    Item.objects.bulk_create([Item(id=row["id"], n=row["price"], c=0) for row in filter_app.ROWS])
    filter_app.urlpatterns[:] = filter_app.django_urlpatterns()
    fastapi_app, flask_app = filter_app.fastapi_app(engine), filter_app.flask_app(engine)
    try:
        with (
            override_settings(ROOT_URLCONF="tests.pagination.filter_app"),
            uvicorn_server(fastapi_app) as fastapi_port,
            waitress_server(flask_app) as flask_port,
            uvicorn_server(get_asgi_application()) as django_asgi_port,
            waitress_server(get_wsgi_application()) as django_wsgi_port,
        ):
            yield {
                "fastapi-testclient": t.Target("fastapi-testclient", "fastapi", t.fastapi_client(fastapi_app)),
                "flask-testclient": t.Target("flask-testclient", "flask", t.flask_client(flask_app)),
                "django-testclient": t.Target("django-testclient", "django", t.django_client()),
                "fastapi-uvicorn": t.served("fastapi-uvicorn", "fastapi", fastapi_port),
                "flask-waitress": t.served("flask-waitress", "flask", flask_port),
                "django-uvicorn-asgi": t.served("django-uvicorn-asgi", "django", django_asgi_port),
                "django-waitress-wsgi": t.served("django-waitress-wsgi", "django", django_wsgi_port),
            }
    finally:
        filter_app.urlpatterns.clear()
        with connections["default"].schema_editor() as editor:
            editor.delete_model(Item)
        engine.dispose()


def normalized(reply: Any) -> tuple[int, dict[str, str], Any]:
    status, headers, body = t.comparable(reply)
    headers = {k: v for k, v in headers.items() if k not in ("x-request-id", "content-length")}
    parsed = json.loads(body)
    if "error" in parsed:
        parsed["error"]["request_id"] = "N"
    return status, headers, parsed


def everywhere(targets: dict[str, t.Target], path: str) -> tuple[int, dict[str, str], Any]:
    replies = {name: normalized(target.request("GET", path)) for name, target in targets.items()}
    reference = replies["fastapi-testclient"]
    for name, reply in replies.items():
        assert reply == reference, f"{path}: {name} differs from fastapi-testclient"
    return reference


@pytest.mark.parametrize("price", ["99999999999999999999999", str(2**63), str(-(2**63) - 1), "9" * 5000])
def test_a_price_past_64_bits_is_the_same_400_naming_the_bound_everywhere(
    every_target: dict[str, t.Target], price: str
) -> None:
    status, headers, body = everywhere(every_target, f"/items?price={price}")
    assert (status, headers["content-type"]) == (400, "application/json")
    assert body["error"]["code"] == "INVALID_FILTER"
    assert body["error"]["details"] == {"parameter": "price", **INT64}
    assert "from -9223372036854775808 to 9223372036854775807" in body["error"]["message"]


def test_the_bound_itself_is_served_everywhere(every_target: dict[str, t.Target]) -> None:
    status, _, body = everywhere(every_target, f"/items?price={2**63 - 1}")
    assert status == 200
    assert body["data"] == [{"id": 2, "price": 2**63 - 1}]
    status, _, body = everywhere(every_target, f"/items?price={-(2**63)}")
    assert (status, body["data"]) == (200, [])


def test_a_page_past_the_end_links_back_to_the_last_page_everywhere(every_target: dict[str, t.Target]) -> None:
    status, headers, body = everywhere(every_target, "/items?page=4294967296&per_page=1")
    assert (status, body["data"]) == (200, [])
    meta = body["pagination"]
    assert (meta["next_page"], meta["prev_page"], meta["total_pages"], meta["total"]) == (None, 2, 2, 2)
    assert headers["link"] == (
        '</items?page=2&per_page=1>; rel="prev", </items?page=1&per_page=1>; rel="first", '
        '</items?page=2&per_page=1>; rel="last"'
    )
