"""docs/http.md works as written: its blocks run, then answer 304, 412, 428 and the deprecation headers alike."""

from __future__ import annotations

import types
from typing import Any

from tests.test_docs import run, section_blocks

DEPRECATION = "@1780272000"
LINK = '<https://example.com/docs/v2>; rel="deprecation"; type="text/html"'


def _fastapi() -> dict[str, Any]:
    return run(section_blocks("http.md", "Per framework")["FastAPI"], {"__name__": __name__})


def test_the_fastapi_set_up() -> None:
    from fastapi.testclient import TestClient

    client = TestClient(_fastapi()["app"])
    read = client.get("/notes/1")
    assert read.headers["etag"] == '"v1"'
    assert client.get("/notes/1", headers={"If-None-Match": '"v1"'}).status_code == 304
    assert client.put("/notes/1?text=x").status_code == 428
    assert client.put("/notes/1?text=x", headers={"If-Match": '"v1"'}).headers["etag"] == '"v2"'
    stale = client.put("/notes/1?text=y", headers={"If-Match": '"v1"'})
    assert (stale.status_code, stale.headers["etag"]) == (412, '"v2"')
    for path in ("/v1/ping", "/old"):
        reply = client.get(path)
        assert (reply.status_code, reply.headers["deprecation"], reply.headers["link"]) == (200, DEPRECATION, LINK)
    assert client.get("/v3/ping").json()["error"]["code"] == "UNSUPPORTED_VERSION"
    document = client.get("/openapi.json").json()["paths"]
    assert document["/old"]["get"]["deprecated"] is True
    assert {"412", "428"} <= set(document["/notes/{note_id}"]["put"]["responses"])


def test_the_starlette_set_up() -> None:
    from starlette.testclient import TestClient

    blocks = section_blocks("http.md", "Per framework")
    client = TestClient(run(blocks["Starlette"], _fastapi())["starlette_app"])
    assert client.put("/notes/1").status_code == 428
    assert client.put("/notes/1", headers={"If-Match": '"v1"'}).headers["etag"] == '"v2"'
    assert client.put("/notes/1", headers={"If-Match": '"v1"'}).status_code == 412
    assert client.get("/old").headers["deprecation"] == DEPRECATION


def test_the_flask_set_up() -> None:
    blocks = section_blocks("http.md", "Per framework")
    ns = run(blocks["Flask"], {**_fastapi(), "__name__": __name__})
    client = ns["flask_app"].test_client()
    assert client.get("/notes/1").headers["ETag"] == '"v1"'
    assert client.get("/notes/1", headers={"If-None-Match": '"v1"'}).status_code == 304
    assert client.put("/notes/1").status_code == 428
    assert client.put("/notes/1", headers={"If-Match": '"v1"'}).headers["ETag"] == '"v2"'
    stale = client.put("/notes/1", headers={"If-Match": '"v1"'})
    assert (stale.status_code, stale.headers["ETag"]) == (412, '"v2"')
    for path in ("/old", "/legacy/ping"):
        reply = client.get(path)
        assert (reply.status_code, reply.headers["Deprecation"], reply.headers["Link"]) == (200, DEPRECATION, LINK)


def test_the_django_set_up() -> None:
    from django.conf import settings
    from django.test import Client, override_settings

    blocks = section_blocks("http.md", "Per framework")
    ns: dict[str, Any] = run(blocks["Django"], {**_fastapi(), "__name__": __name__})
    assert ns["MIDDLEWARE"] == ["backendkit.django.ErrorMiddleware"]
    assert ns["BACKENDKIT"]["VERSIONING"] == "myproject.api.VERSIONS"  # (a dotted path: read at start-up)
    chosen = {**settings.BACKENDKIT, "CONDITIONAL_REQUESTS": ns["BACKENDKIT"]["CONDITIONAL_REQUESTS"]}
    chosen.pop("VERSIONING", None)
    urls = types.ModuleType("http_docs_urls")
    urls.urlpatterns = ns["urlpatterns"]  # type: ignore[attr-defined]
    with override_settings(BACKENDKIT=chosen, ROOT_URLCONF=urls):
        client = Client()
        for path in ("/old", "/legacy/ping"):
            response = client.get(path)
            assert (response.status_code, response["Deprecation"], response["Link"]) == (200, DEPRECATION, LINK)
            assert response["ETag"].startswith('"')  # the conditional layer: a tag from the bytes

        def change(**headers: str) -> Any:
            return client.put("/notes/1", b'{"text": "x"}', content_type="application/json", headers=headers)

        assert change().status_code == 428
        changed = change(If_Match='"v1"')
        assert (changed.status_code, changed["ETag"]) == (200, '"v2"')
        stale = change(If_Match='"v1"')
        assert (stale.status_code, stale["ETag"]) == (412, '"v2"')
    assert [str(p.pattern) for p in ns["urlpatterns"]] == ["notes/<int:note_id>", "old", "legacy/"]


def test_the_locking_blocks_run() -> None:
    blocks = section_blocks("http.md", "Optimistic locking")
    ns = run(blocks["SQLAlchemy"], {"__name__": __name__})  # (its asserts are the 200 and the 412)
    with ns["engine"].connect() as conn:
        assert conn.execute(ns["notes"].select()).one()._asdict() == {"id": 1, "text": "final", "version": 2}
