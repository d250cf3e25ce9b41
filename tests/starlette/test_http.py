"""HTTP semantics on Starlette: install(conditional_requests=, versioning=), preconditions(), @deprecated."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from backendkit.errors import NotFound
from backendkit.http import Deprecation, ETag, Versioning
from backendkit.security import CORS
from backendkit.starlette import install
from backendkit.starlette.http import deprecated, preconditions

ORIGIN = "https://app.example"
OLD = Deprecation(datetime(2026, 6, 1, tzinfo=timezone.utc), link="https://example.com/migrate")
RETIRED = Deprecation(
    datetime(2025, 1, 1, tzinfo=timezone.utc),
    sunset=datetime(2026, 1, 1, tzinfo=timezone.utc),
    gone_after_sunset=True,
)


class Notes:
    """One versioned note, changed only against the version a client read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version = 1
        self.text = "first"

    @property
    def etag(self) -> ETag:
        return ETag.for_version(self.version)


def build(**options: Any) -> tuple[Starlette, Notes]:
    notes = Notes()

    async def read(request: Request) -> Response:
        return JSONResponse(
            {"text": notes.text, "version": request.state.api_version}, headers={"ETag": str(notes.etag)}
        )

    async def replace(request: Request) -> Response:
        asked = preconditions(request, required=True)  # 428 before the body is read
        data = await request.json()
        with notes.lock:
            asked.check(etag=notes.etag)  # 412 with the current tag when stale
            notes.text, notes.version = data["text"], notes.version + 1
        return JSONResponse({"text": notes.text}, headers={"ETag": str(notes.etag)})

    def cached(request: Request) -> Response:
        preconditions(request).check(etag=notes.etag)  # NotModified: 304
        return JSONResponse({"text": notes.text})

    @deprecated(OLD)
    async def old(request: Request) -> Response:
        if request.query_params.get("missing"):
            raise NotFound("No such thing.")
        return JSONResponse({"old": True})

    @deprecated(RETIRED)
    def retired(request: Request) -> Response:
        raise AssertionError("a retired endpoint never runs")

    async def listing(request: Request) -> Response:
        return JSONResponse({"items": [1, 2, 3]})

    v1 = [Route("/note", read)]
    app = Starlette(
        routes=[
            Route("/note", read),
            Route("/note", replace, methods=["PUT"]),
            Route("/cached", cached),
            Route("/old", old),
            Route("/retired", retired),
            Route("/items", listing),
            Route("/file", lambda request: FileResponse(__file__)),
            Mount("/v1", routes=v1),
            Mount("/v2", routes=v1),
        ],
        middleware=[Middleware(_Marker)],
    )
    install(app, **options)
    return app, notes


class _Marker:
    """A user middleware: the layer runs outside it (its answers are finished too)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


ON = {
    "conditional_requests": True,
    "versioning": Versioning({"1": OLD, "2": None}),
    "cors": CORS(allow_origins=[ORIGIN]),
}


@pytest.fixture
def client() -> TestClient:
    return TestClient(build(**ON)[0])


def test_a_get_is_tagged_and_a_matching_if_none_match_is_a_304_with_cors_security_and_request_id(
    client: TestClient,
) -> None:
    first = client.get("/items", headers={"Origin": ORIGIN})
    tag = first.headers["etag"]
    assert tag == str(ETag.of(first.content))
    again = client.get("/items", headers={"Origin": ORIGIN, "If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["access-control-allow-origin"] == ORIGIN
    assert again.headers["x-content-type-options"] == "nosniff"
    assert "x-request-id" in again.headers
    assert "content-type" not in again.headers
    assert client.head("/items").headers["etag"] == tag


def test_the_route_s_etag_wins_and_file_responses_keep_theirs(client: TestClient) -> None:
    assert client.get("/note").headers["etag"] == '"v1"'
    assert client.get("/note", headers={"If-None-Match": '"v1"'}).status_code == 304
    file_tag = client.get("/file").headers["etag"]
    assert client.head("/file").headers["etag"] == file_tag


def test_put_needs_a_precondition_before_its_body_is_read_then_412_then_200(client: TestClient) -> None:
    refused = client.put("/note", content=b"{not json", headers={"Content-Type": "application/json"})
    assert refused.status_code == 428
    assert refused.json()["error"]["code"] == "PRECONDITION_REQUIRED"
    stale = client.put("/note", json={"text": "x"}, headers={"If-Match": '"v7"'})
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"v1"'
    assert stale.json()["error"]["details"] == {"etag": '"v1"'}
    malformed = client.put("/note", json={"text": "x"}, headers={"If-Match": "v1"})
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "MALFORMED_PRECONDITION")
    done = client.put("/note", json={"text": "second"}, headers={"If-Match": '"v1"'})
    assert done.status_code == 200
    assert done.headers["etag"] == '"v2"'
    assert client.put("/note", json={"text": "third"}, headers={"If-Match": '"v1"'}).status_code == 412


def test_not_modified_raised_by_a_route_is_a_304(client: TestClient) -> None:
    reply = client.get("/cached", headers={"If-None-Match": '"v1"'})
    assert reply.status_code == 304
    assert reply.headers["etag"] == '"v1"'
    assert client.get("/cached").status_code == 200


def test_deprecated_endpoints_carry_the_headers_errors_included_and_retired_ones_410(client: TestClient) -> None:
    for path, status in (("/old", 200), ("/old?missing=1", 404)):
        reply = client.get(path)
        assert reply.status_code == status
        assert reply.headers["deprecation"] == "@1780272000"
        assert reply.headers["link"] == '<https://example.com/migrate>; rel="deprecation"; type="text/html"'
    gone = client.get("/retired")
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "GONE"
    assert gone.headers["sunset"] == "Thu, 01 Jan 2026 00:00:00 GMT"


def test_path_versions_the_deprecated_one_s_headers_and_the_unknown_one_s_404(client: TestClient) -> None:
    v1 = client.get("/v1/note")
    assert (v1.status_code, v1.json()["version"], v1.headers["deprecation"]) == (200, "1", "@1780272000")
    v2 = client.get("/v2/note")
    assert v2.json()["version"] == "2"
    assert "deprecation" not in v2.headers
    assert client.get("/note").json()["version"] is None  # unversioned
    unknown = client.get("/v9/note")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["details"] == {"requested": "9", "supported": ["1", "2"]}


def test_without_the_settings_deprecation_still_works_and_nothing_is_tagged() -> None:
    client = TestClient(build()[0])
    assert "etag" not in client.get("/items").headers
    assert client.get("/old").headers["deprecation"] == "@1780272000"
    assert client.get("/retired").status_code == 410
    assert client.put("/note", json={"text": "x"}).status_code == 428


def test_a_bad_setting_is_refused_when_installing() -> None:
    from backendkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        build(conditional_requests="yes")
    with pytest.raises(ConfigurationError):
        build(versioning=["1", "2"])
