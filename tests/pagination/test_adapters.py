"""What each adapter adds: OpenAPI parameters, the set-up checks, raw query strings, Django views on the ORM."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from backendkit.pagination import PageSize, Pagination, SortSpec

SECRET = "adapter-secret-0123456789"


def test_fastapi_lists_every_parameter_in_openapi() -> None:
    from fastapi.testclient import TestClient

    from examples.fastapi_app import create_app

    spec = TestClient(create_app()).get("/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/tasks"]["get"]["parameters"]}
    assert list(parameters) == ["limit", "cursor", "page", "per_page", "sort", "q", "priority"]
    assert all(p["in"] == "query" and not p.get("required", False) for p in parameters.values())
    assert "from 1 to 100, default 20" in parameters["per_page"]["description"]
    assert "created_at, id, priority, title" in parameters["sort"]["description"]
    assert "-priority,id" in parameters["sort"]["description"]
    assert "400" in spec["paths"]["/tasks"]["get"]["responses"]
    # The real types and ranges, though FastAPI takes the text and backendkit checks it.
    most = 10**12 - 1
    assert parameters["limit"]["schema"] == {
        "anyOf": [{"type": "integer", "minimum": 1, "maximum": most}, {"type": "string", "maxLength": 0}],
        "title": "Limit",
    }  # an empty value counts as absent
    assert parameters["page"]["schema"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": most}
    # The bounds a 400 names: the largest page, and a 64-bit integer for an int filter.
    assert parameters["priority"]["schema"]["anyOf"][0] == {
        "type": "integer",
        "minimum": -(2**63),
        "maximum": 2**63 - 1,
    }
    assert parameters["q"]["schema"]["type"] == "string"
    sort = parameters["sort"]["schema"]["pattern"]
    assert re.fullmatch(sort, "-priority,title")
    assert not re.fullmatch(sort, "-priority,nope")


def test_fastapi_offers_only_the_parameters_of_the_modes_it_serves() -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from backendkit.fastapi import install
    from backendkit.fastapi.pagination import page_request, page_response

    pages = Pagination(modes=["offset"], page_size=PageSize(default=5, maximum=10, oversize="reject"))
    app = FastAPI()
    install(app)

    @app.get("/rows")
    def rows(request: Any = Depends(page_request(pages))) -> Any:  # noqa: B008  (FastAPI's idiom)
        return page_response(pages.paginate_sequence([{"n": i} for i in range(12)], request))

    client = TestClient(app)
    names = [p["name"] for p in client.get("/openapi.json").json()["paths"]["/rows"]["get"]["parameters"]]
    assert names == ["limit", "offset"]
    reply = client.get("/rows?offset=10&limit=5")
    assert reply.json()["data"] == [{"n": 10}, {"n": 11}]
    refused = client.get("/rows?limit=11")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "INVALID_PAGE_SIZE"


def test_flask_without_the_extension_pages_and_refuses_in_the_envelope() -> None:
    # Issue 20: no ConfigurationError while answering a request. Without the extension the
    # page is read as usual, and a refusal is the default envelope, never a 500.
    from flask import Flask

    from backendkit.flask.pagination import page_request

    app = Flask(__name__)
    pages = Pagination(modes=["page"])
    with app.test_request_context("/x?page=2"):
        assert page_request(pages).page == 2
    app.add_url_rule("/x", "x", lambda: {"page": page_request(pages).page})
    refused = app.test_client().get("/x?page=0")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "INVALID_PAGE"


def test_flask_reads_the_raw_query_string() -> None:
    from flask import Flask

    from backendkit.flask import BackendKit
    from backendkit.flask.pagination import page_request, page_response

    app = Flask(__name__)
    BackendKit(app)
    pages = Pagination(sort=SortSpec(["id"], default="id"), secrets=[SECRET], filters={"q": str})

    @app.get("/x")
    def x() -> Any:
        request = page_request(pages)
        return page_response(pages.paginate_sequence([{"id": i} for i in range(1, 4)], request))

    reply = app.test_client().get("/x?q=caf%C3%A9+au+lait&limit=1&other=a&other=b")
    assert reply.headers["Link"] == "</x?q=caf%C3%A9%20au%20lait&limit=1&other=a&other=b&cursor=" + (
        reply.json["pagination"]["next_cursor"] + '>; rel="next"'
    )


@pytest.fixture
def django_items() -> Any:
    from django.db import connections

    from tests.pagination.djangoapp.models import Item

    with connections["default"].schema_editor() as editor:
        editor.create_model(Item)
    Item.objects.bulk_create([Item(id=i, a=i % 3, b=None, c=0) for i in range(1, 8)])
    yield Item
    with connections["default"].schema_editor() as editor:
        editor.delete_model(Item)


def test_django_sync_and_async_views_page_a_queryset(django_items: Any) -> None:
    from django.test import RequestFactory

    from backendkit.django.pagination import apaginate, page_request, page_response, paginate

    pages = Pagination(sort=SortSpec(["a", "id"], default="-a"), secrets=[SECRET])

    def view(request: Any) -> Any:
        page = paginate(django_items.objects.all(), page_request(request, pages))
        return page_response(page, [{"id": item.id} for item in page.items])

    async def async_view(request: Any) -> Any:
        page = await apaginate(django_items.objects.all(), page_request(request, pages))
        return page_response(page, [{"id": item.id} for item in page.items])

    request = RequestFactory().get("/items", {"limit": "3"})
    sync_reply = view(request)
    async_reply = asyncio.run(async_view(request))
    assert sync_reply.content == async_reply.content
    assert sync_reply["Link"] == async_reply["Link"]
    body = json.loads(sync_reply.content)
    assert [row["id"] for row in body["data"]] == [2, 5, 1]
    follow = RequestFactory().get("/items", {"limit": "3", "cursor": body["pagination"]["next_cursor"]})
    assert [row["id"] for row in json.loads(view(follow).content)["data"]] == [4, 7, 3]


def test_the_bad_cursor_corpus_is_a_400_on_every_framework() -> None:
    from urllib.parse import quote

    from django.test import Client
    from fastapi.testclient import TestClient

    from examples.fastapi_app import create_app as fastapi_app
    from examples.flask_app import create_app as flask_app
    from tests.pagination.test_cursor import bad_cursors

    clients = {
        "fastapi": TestClient(fastapi_app()).get,
        "flask": flask_app().test_client().get,
        "django": Client().get,
    }
    for name, token, _ in bad_cursors():
        if not token:
            continue  # an empty parameter counts as absent, as for every pagination parameter: the first page
        for framework, get in clients.items():
            reply = get(f"/tasks?cursor={quote(token[:4096], safe='')}")
            assert reply.status_code == 400, (framework, name)
            body = reply.json() if callable(reply.json) else reply.json
            assert body["error"]["code"] == "INVALID_CURSOR", (framework, name, body)
