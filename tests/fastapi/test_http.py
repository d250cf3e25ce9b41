"""HTTP semantics on FastAPI: the preconditions and deprecated dependencies, versions, and what OpenAPI says."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from backendkit.errors import NotFound
from backendkit.fastapi import install
from backendkit.fastapi.http import deprecated, preconditions
from backendkit.http import Deprecation, ETag, Preconditions, Versioning, get_api_version

OLD = Deprecation(datetime(2026, 6, 1, tzinfo=timezone.utc), link="https://example.com/migrate")
RETIRED = Deprecation(
    datetime(2025, 1, 1, tzinfo=timezone.utc),
    sunset=datetime(2026, 1, 1, tzinfo=timezone.utc),
    gone_after_sunset=True,
)
RETIRING = Deprecation(
    datetime(2025, 1, 1, tzinfo=timezone.utc),
    sunset=datetime(2999, 1, 1, tzinfo=timezone.utc),
    gone_after_sunset=True,
)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str


Required = Annotated[Preconditions, Depends(preconditions(required=True))]
Optional = Annotated[Preconditions, Depends(preconditions())]


def build(**options: Any) -> FastAPI:
    app = FastAPI(redirect_slashes=False)
    install(app, **options)
    lock = threading.Lock()
    note = {"text": "first", "version": 1}
    seen: list[Any] = []
    app.state.seen = seen

    def tag() -> ETag:
        return ETag.for_version(int(note["version"]))

    @app.get("/note")
    def read(response: Response) -> dict[str, Any]:
        response.headers["ETag"] = str(tag())
        seen.append(get_api_version())
        return note

    @app.put("/note")
    def replace(asked: Required, data: NoteIn, response: Response) -> dict[str, Any]:
        with lock:
            asked.check(etag=tag())
            note.update(text=data.text, version=int(note["version"]) + 1)
        response.headers["ETag"] = str(tag())
        return note

    @app.get("/cached")
    def cached(asked: Optional) -> dict[str, Any]:
        asked.check(etag=tag())  # NotModified: 304
        return note

    @app.get("/old", dependencies=[Depends(deprecated(OLD))])
    def old(missing: bool = False) -> dict[str, bool]:
        if missing:
            raise NotFound("No such thing.")
        return {"old": True}

    @app.get("/retired", dependencies=[Depends(deprecated(RETIRED))])
    def retired() -> None:
        raise AssertionError("a retired route never runs")

    @app.get("/retiring", dependencies=[Depends(deprecated(RETIRING))])
    def retiring() -> dict[str, bool]:
        return {"ok": True}

    legacy = APIRouter(prefix="/legacy", dependencies=[Depends(deprecated(OLD))])

    @legacy.get("/items")
    def legacy_items() -> list[int]:
        return [1, 2]

    app.include_router(legacy)
    for version in ("1", "2", "7"):
        router = APIRouter(prefix=f"/v{version}")

        @router.get("/items", operation_id=f"items_v{version}")
        def items(request_version: str = version) -> dict[str, Any]:
            return {"version": get_api_version()}

        app.include_router(router)
    return app


ON = {"conditional_requests": True, "versioning": Versioning({"1": OLD, "2": None})}


@pytest.fixture
def client() -> TestClient:
    return TestClient(build(**ON))


def test_the_required_precondition_is_answered_428_before_the_body_is_parsed(client: TestClient) -> None:
    for body in (b'{"text": "x"}', b"{not json", b'{"text": 5}'):
        reply = client.put("/note", content=body, headers={"Content-Type": "application/json"})
        assert reply.status_code == 428, body
        assert reply.json()["error"]["code"] == "PRECONDITION_REQUIRED"
    unparsed = client.put(
        "/note", content=b"{not json", headers={"If-Match": '"v1"', "Content-Type": "application/json"}
    )
    assert unparsed.status_code == 400  # with a precondition, the body is read as before


def test_stale_412_with_the_current_tag_then_200_with_the_new_one(client: TestClient) -> None:
    stale = client.put("/note", json={"text": "x"}, headers={"If-Match": '"v3"'})
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"v1"'
    assert stale.json()["error"]["details"] == {"etag": '"v1"'}
    done = client.put("/note", json={"text": "second"}, headers={"If-Match": '"v1"'})
    assert (done.status_code, done.headers["etag"], done.json()["version"]) == (200, '"v2"', 2)
    malformed = client.put("/note", json={"text": "x"}, headers={"If-Match": "v2"})
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "MALFORMED_PRECONDITION")
    invalid = client.put("/note", json={"text": 1}, headers={"If-Match": '"v2"'})
    assert invalid.status_code == 422


def test_concurrent_writers_with_the_same_tag_exactly_one_wins(client: TestClient) -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def write(i: int) -> None:
        barrier.wait()
        reply = client.put("/note", json={"text": f"w{i}"}, headers={"If-Match": '"v1"'})
        statuses.append(reply.status_code)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [412] * 7


def test_get_304_from_the_layer_and_from_a_route_s_not_modified(client: TestClient) -> None:
    reply = client.get("/note")
    assert reply.headers["etag"] == '"v1"'
    cached = client.get("/note", headers={"If-None-Match": '"v1"'})
    assert (cached.status_code, cached.content) == (304, b"")
    assert client.get("/cached", headers={"If-None-Match": 'W/"v1"'}).status_code == 304
    head = client.head("/v2/items")
    assert head.headers["etag"] == client.get("/v2/items").headers["etag"]


def test_deprecated_routes_and_routers_carry_the_headers_and_retired_ones_410(client: TestClient) -> None:
    for path, status in (("/old", 200), ("/old?missing=true", 404), ("/legacy/items", 200)):
        reply = client.get(path)
        assert reply.status_code == status, path
        assert reply.headers["deprecation"] == "@1780272000", path
        assert reply.headers["link"] == '<https://example.com/migrate>; rel="deprecation"; type="text/html"'
    gone = client.get("/retired")
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "GONE")
    assert gone.headers["deprecation"] == "@1735689600"
    assert client.get("/retiring").status_code == 200


def test_versions_from_the_path(client: TestClient) -> None:
    v1 = client.get("/v1/items")
    assert (v1.json(), v1.headers["deprecation"]) == ({"version": "1"}, "@1780272000")
    assert client.get("/v2/items").json() == {"version": "2"}
    unknown = client.get("/v7/items")  # a route exists, the version is not served
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "UNSUPPORTED_VERSION"


def test_the_document_says_what_is_sent(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    put = paths["/note"]["put"]
    assert sorted(put["responses"]) == ["200", "400", "412", "415", "422", "428"]
    [if_match] = [p for p in put["parameters"] if p["in"] == "header"]
    assert (if_match["name"], if_match.get("required", False)) == ("If-Match", False)
    assert sorted(paths["/note"]["get"]["responses"]) == ["200", "304", "400", "412"]
    assert sorted(paths["/cached"]["get"]["responses"]) == ["200", "304", "400", "412"]
    assert paths["/old"]["get"]["deprecated"] is True
    assert paths["/legacy/items"]["get"]["deprecated"] is True
    assert sorted(paths["/retired"]["get"]["responses"]) == [
        "400",
        "410",
    ]  # (400: a malformed If-Match, read before routing)
    assert sorted(paths["/retiring"]["get"]["responses"]) == ["200", "304", "400", "410", "412"]
    assert paths["/v1/items"]["get"]["deprecated"] is True
    assert "deprecated" not in paths["/v2/items"]["get"]
    assert "/v7/items" not in paths  # the layer answers 404 there: no operation
    assert "deprecated" not in paths["/note"]["get"]


def test_header_versions_document_400_and_vary() -> None:
    client = TestClient(build(versioning=Versioning(["1", "2"], source="header")))
    reply = client.get("/note", headers={"API-Version": "1"})
    assert reply.headers["vary"] == "API-Version"
    assert "304" not in client.get("/openapi.json").json()["paths"]["/note"]["get"]["responses"]
    assert "400" in client.get("/openapi.json").json()["paths"]["/note"]["get"]["responses"]
    assert client.get("/note", headers={"API-Version": "3"}).status_code == 400


def test_without_the_settings_the_dependencies_still_answer() -> None:
    client = TestClient(build())
    assert "etag" in client.get("/note").headers  # the route's own
    assert "etag" not in client.get("/v2/items").headers
    assert client.put("/note", json={"text": "x"}).status_code == 428
    assert client.get("/old").headers["deprecation"] == "@1780272000"
    assert client.get("/retired").status_code == 410
    spec = client.get("/openapi.json").json()
    assert "304" not in spec["paths"]["/note"]["get"]["responses"]
    assert spec["paths"]["/old"]["get"]["deprecated"] is True
