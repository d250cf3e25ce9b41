"""Flask: the HTTP semantics layer (ETags, 304, preconditions, deprecation, API versions) on a test app."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

import pytest
from flask import Blueprint, Flask, Response, g, jsonify, request, stream_with_context

from backendkit.context import get_request_id
from backendkit.errors import NotFound
from backendkit.flask import BackendKit, parse_json
from backendkit.flask.auth import Auth, require
from backendkit.flask.http import deprecate, deprecated, get_api_version, preconditions
from backendkit.flask.idempotency import idempotent
from backendkit.http import (
    Deprecation,
    ETag,
    Versioning,
    api_version_var,
    check,
    format_http_date,
)
from backendkit.idempotency import Idempotency, MemoryStore
from examples._tasks import TaskIn
from tests.auth.apps import verifier

UTC = timezone.utc
OLD = Deprecation(datetime(2026, 6, 1, tzinfo=UTC), sunset=datetime(2099, 1, 1, tzinfo=UTC), link="https://x.test/v2")
RETIRED = Deprecation(
    datetime(2020, 1, 1, tzinfo=UTC),
    sunset=datetime(2021, 1, 1, tzinfo=UTC),
    link="https://x.test/v2",
    gone_after_sunset=True,
)
OTHER = Deprecation(datetime(2027, 1, 1, tzinfo=UTC))
MODIFIED = 1_700_000_000  # the Last-Modified of /dated


def make_app(**options: Any) -> Flask:
    options.setdefault("conditional_requests", True)
    app = Flask(__name__)
    BackendKit(app, **options)
    version = itertools.count(1)
    keys = Idempotency(MemoryStore())

    @app.get("/items")
    def items() -> Response:
        return jsonify(items=[1, 2, 3])

    @app.get("/tagged")
    def tagged() -> tuple[Response, int, dict[str, str]]:
        return jsonify(ok=True), 200, {"ETag": '"v7"', "Cache-Control": "max-age=5"}

    @app.get("/dated")
    def dated() -> tuple[Response, int, dict[str, str]]:
        return jsonify(ok=True), 200, {"Last-Modified": format_http_date(MODIFIED)}

    @app.get("/checked")
    def checked() -> Response:  # a view's own revalidation: no body is built for a current copy
        validators = check(request.method, preconditions().conditions, etag=ETag("v3"), last_modified=MODIFIED)
        return Response("built", headers=validators.headers)

    @app.get("/stream")
    def stream() -> Response:
        return Response(stream_with_context(iter([b"a", b"b"])))

    @app.get("/created")
    def created() -> tuple[Response, int]:
        return jsonify(ok=True), 201

    @app.post("/things")
    @idempotent(keys)
    def things() -> tuple[Response, int, dict[str, str]]:
        return jsonify(n=next(version)), 201, {"ETag": '"v1"'}

    @app.put("/things/<int:n>")
    def put_thing(n: int) -> Response:
        guard = preconditions(required=True)
        data = parse_json(TaskIn)
        guard.check(etag=ETag.for_version(3))
        return jsonify(title=data.title, expected=guard.expected_version)

    @app.delete("/things/<int:n>")
    def delete_thing(n: int) -> Response:
        preconditions()  # not required: only a malformed If-Match is refused
        return Response(status=204)

    @app.get("/old")
    @deprecated(OLD)
    def old() -> Response:
        if request.args.get("fail"):
            raise NotFound("Nothing here.")
        return jsonify(ok=True)

    @app.get("/linked")
    @deprecated(OLD)
    def linked() -> tuple[Response, int, dict[str, str]]:
        return jsonify(ok=True), 200, {"Link": '</items?page=2>; rel="next"'}

    @app.get("/whoami")
    def whoami() -> Response:
        return jsonify(request_id=get_request_id(), version=get_api_version(), native=g.get("api_version"))

    return app


def retired_app(**options: Any) -> tuple[Flask, list[str]]:
    """An app with authentication and a hook of its own, and a retired route: what ran is in the list."""
    app = make_app(**options)
    ran: list[str] = []
    Auth(verifier(), app)

    @app.before_request
    def hook() -> None:
        ran.append("before_request")

    @app.get("/retired")
    @deprecated(RETIRED)
    @require()
    def retired() -> Response:
        ran.append("view")
        return jsonify(ok=True)

    @app.get("/retired-below")
    @require()
    @deprecated(RETIRED)  # below the guard: the mark still travels up (functools.wraps)
    def retired_below() -> Response:
        ran.append("view")
        return jsonify(ok=True)

    return app, ran


DEPRECATION_HEADERS = {
    "Deprecation": "@1780272000",
    "Sunset": "Thu, 01 Jan 2099 00:00:00 GMT",
    "Link": '<https://x.test/v2>; rel="deprecation"; type="text/html"',
}


def _deprecation_of(r: Any) -> dict[str, str | None]:
    return {name: r.headers.get(name) for name in ("Deprecation", "Sunset", "Link")}


# Conditional requests


def test_a_200_get_is_tagged_from_its_bytes_and_a_head_gets_the_same_tag() -> None:
    client = make_app().test_client()
    got = client.get("/items")
    assert got.headers["ETag"] == str(ETag.of(got.get_data()))
    head = client.head("/items")
    assert (head.status_code, head.headers["ETag"], head.get_data()) == (200, got.headers["ETag"], b"")


def test_a_current_copy_is_answered_304_without_body_or_representation_headers() -> None:
    client = make_app().test_client()
    tag = client.get("/items").headers["ETag"]
    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        r = client.get("/items", headers={"If-None-Match": sent, "X-Request-ID": "rid-304"})
        assert r.status_code == 304, sent
        assert r.get_data() == b""
        assert r.headers["ETag"] == tag
        assert r.headers["X-Request-ID"] == "rid-304"
        assert "Content-Type" not in r.headers
        assert "Content-Length" not in r.headers
    assert client.head("/items", headers={"If-None-Match": tag}).status_code == 304
    assert client.get("/items", headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_routes_own_tag_wins_and_its_304_keeps_cache_control() -> None:
    client = make_app().test_client()
    assert client.get("/tagged").headers.getlist("ETag") == ['"v7"']
    r = client.get("/tagged", headers={"If-None-Match": '"v7"'})
    assert (r.status_code, r.headers["ETag"], r.headers["Cache-Control"]) == (304, '"v7"', "max-age=5")


def test_if_modified_since_answers_304_and_the_304_keeps_last_modified() -> None:
    client = make_app().test_client()
    since = format_http_date(MODIFIED)
    r = client.get("/dated", headers={"If-Modified-Since": since})
    # werkzeug drops Last-Modified from a 304; the other frameworks keep it, and so does the adapter.
    assert (r.status_code, r.headers["Last-Modified"]) == (304, since)
    assert client.get("/dated", headers={"If-Modified-Since": format_http_date(MODIFIED - 1)}).status_code == 200


def test_a_views_not_modified_is_a_304_with_its_validators() -> None:
    client = make_app().test_client()
    r = client.get("/checked", headers={"If-None-Match": '"v3"'})
    assert (r.status_code, r.get_data()) == (304, b"")
    assert (r.headers["ETag"], r.headers["Last-Modified"]) == ('"v3"', format_http_date(MODIFIED))
    assert "Content-Type" not in r.headers
    assert client.get("/checked").get_data() == b"built"


def test_without_the_layer_a_views_not_modified_is_still_a_304() -> None:
    r = make_app(conditional_requests=None).test_client().get("/checked", headers={"If-None-Match": '"v3"'})
    assert (r.status_code, r.headers["ETag"]) == (304, '"v3"')


def test_what_is_not_a_200_get_with_its_body_in_memory_is_not_tagged() -> None:
    client = make_app().test_client()
    assert "ETag" not in client.get("/created").headers
    assert "ETag" not in client.get("/missing").headers
    streamed = client.get("/stream")
    assert (streamed.get_data(), "ETag" in streamed.headers) == (b"ab", False)


def test_a_get_whose_if_match_fails_is_a_412_with_the_current_tag() -> None:
    client = make_app().test_client()
    r = client.get("/tagged", headers={"If-Match": '"v6"', "X-Request-ID": "rid-412"})
    assert r.status_code == 412
    assert r.headers["ETag"] == '"v7"'
    assert r.get_json()["error"] == {
        "code": "PRECONDITION_FAILED",
        "message": r.get_json()["error"]["message"],
        "details": {"etag": '"v7"'},
        "request_id": "rid-412",
    }
    assert client.get("/tagged", headers={"If-Match": '"v7"'}).status_code == 200


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
def test_a_malformed_if_match_is_a_400(method: str) -> None:
    r = (
        make_app()
        .test_client()
        .open(
            "/things/1" if method in ("PUT", "DELETE") else "/items",
            method=method,
            headers={"If-Match": "v3"},
            json={"title": "a"},
        )
    )
    assert r.status_code == 400
    if method != "HEAD":
        assert r.get_json()["error"]["code"] == "MALFORMED_PRECONDITION"


def test_without_the_layer_responses_are_left_as_the_views_made_them() -> None:
    client = make_app(conditional_requests=None).test_client()
    assert "ETag" not in client.get("/items").headers
    assert client.get("/items", headers={"If-None-Match": "*"}).status_code == 200
    assert client.get("/items", headers={"If-Match": "junk"}).status_code == 200  # nothing reads it


def test_the_setting_from_the_config_and_as_a_mapping() -> None:
    app = Flask(__name__)
    app.config["BACKENDKIT_CONDITIONAL_REQUESTS"] = {"max_body": 4}

    @app.get("/small")
    def small() -> str:
        return "abc"

    @app.get("/large")
    def large() -> str:
        return "abcdef"

    BackendKit(app)
    client = app.test_client()
    assert client.get("/small").headers["ETag"] == str(ETag.of(b"abc"))
    assert "ETag" not in client.get("/large").headers


# Preconditions on unsafe methods


def test_a_required_precondition_is_428_before_the_body_is_read() -> None:
    client = make_app().test_client()
    for body in ({"title": "a"}, {"title": 1}):
        r = client.put("/things/1", json=body)
        assert (r.status_code, r.get_json()["error"]["code"]) == (428, "PRECONDITION_REQUIRED")
    r = client.put("/things/1", data="not json", headers={"If-Match": '"v3"'}, content_type="application/json")
    assert r.status_code == 400  # the body comes next, as on POST
    assert client.put("/things/1", json={"title": 1}, headers={"If-Match": '"v3"'}).status_code == 422


def test_a_stale_tag_is_412_with_the_current_one_and_a_current_tag_goes_through() -> None:
    client = make_app().test_client()
    stale = client.put("/things/1", json={"title": "a"}, headers={"If-Match": '"v2"'})
    assert (stale.status_code, stale.headers["ETag"]) == (412, '"v3"')
    assert stale.get_json()["error"]["details"] == {"etag": '"v3"'}
    fresh = client.put("/things/1", json={"title": "a"}, headers={"If-Match": '"v1", "v3"'})
    assert (fresh.status_code, fresh.get_json()) == (200, {"title": "a", "expected": None})
    one = client.put("/things/1", json={"title": "a"}, headers={"If-Match": '"v3"'})
    assert one.get_json()["expected"] == "3"
    # A date against a thing without a modification time cannot refuse a lost update: not a precondition.
    dated = client.put("/things/1", json={"title": "a"}, headers={"If-Unmodified-Since": format_http_date(0)})
    assert dated.status_code == 428
    assert client.put("/things/1", json={"title": "a"}, headers={"If-None-Match": "*"}).status_code == 412


def test_preconditions_work_without_the_layer() -> None:
    client = make_app(conditional_requests=None).test_client()
    assert client.put("/things/1", json={"title": "a"}).status_code == 428
    assert client.put("/things/1", json={"title": "a"}, headers={"If-Match": '"v2"'}).status_code == 412
    assert client.put("/things/1", json={"title": "a"}, headers={"If-Match": "v3"}).status_code == 400
    assert client.delete("/things/1").status_code == 204


def test_an_idempotent_replay_carries_the_same_etag() -> None:
    client = make_app().test_client()
    first = client.post("/things", headers={"Idempotency-Key": "k-1"})
    again = client.post("/things", headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json() == again.get_json()
    assert first.headers["ETag"] == again.headers["ETag"] == '"v1"'


# Deprecation


def test_a_deprecated_view_says_so_on_every_answer_errors_included() -> None:
    client = make_app().test_client()
    assert _deprecation_of(client.get("/old")) == DEPRECATION_HEADERS
    failed = client.get("/old?fail=1")
    assert (failed.status_code, _deprecation_of(failed)) == (404, DEPRECATION_HEADERS)
    assert _deprecation_of(client.get("/items")) == dict.fromkeys(DEPRECATION_HEADERS)


def test_a_deprecated_views_304_carries_the_headers() -> None:
    client = make_app().test_client()
    tag = client.get("/old").headers["ETag"]
    r = client.get("/old", headers={"If-None-Match": tag})
    assert (r.status_code, _deprecation_of(r)) == (304, DEPRECATION_HEADERS)


def test_the_deprecation_link_joins_the_views_own_link() -> None:
    r = make_app().test_client().get("/linked")
    assert r.headers.getlist("Link") == ['</items?page=2>; rel="next", ' + DEPRECATION_HEADERS["Link"]]


def test_deprecation_needs_neither_setting() -> None:
    client = make_app(conditional_requests=None).test_client()
    assert _deprecation_of(client.get("/old")) == DEPRECATION_HEADERS
    assert "ETag" not in client.get("/old").headers


@pytest.mark.parametrize("path", ["/retired", "/retired-below"])
def test_a_retired_view_is_410_before_hooks_authentication_and_the_view(path: str) -> None:
    app, ran = retired_app()
    r = app.test_client().get(path, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 410
    assert r.get_json()["error"]["code"] == "GONE"
    assert _deprecation_of(r) == {
        "Deprecation": "@1577836800",
        "Sunset": "Fri, 01 Jan 2021 00:00:00 GMT",
        "Link": '<https://x.test/v2>; rel="deprecation"; type="text/html"',
    }
    assert ran == []


def test_a_retired_view_without_the_extension_is_still_410(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)

    @app.get("/retired")
    @deprecated(RETIRED)
    def retired() -> str:
        return "never"

    r = app.test_client().get("/retired")
    assert (r.status_code, r.get_json()["error"]["code"]) == (410, "GONE")
    assert r.headers["Deprecation"] == "@1577836800"
    assert any("BackendKit extension" in m for m in caplog.messages)


def _blueprint_app() -> Flask:
    app = make_app()
    outer = deprecate(Blueprint("outer", __name__, url_prefix="/outer"), OLD)
    inner = deprecate(Blueprint("inner", __name__, url_prefix="/inner"), OTHER)

    @outer.get("/plain")
    def plain() -> Response:
        return jsonify(ok=True)

    @outer.get("/own")
    @deprecated(RETIRED)
    def own() -> Response:
        return jsonify(ok=True)

    @inner.get("/deep")
    def deep() -> Response:
        return jsonify(ok=True)

    outer.register_blueprint(inner)
    app.register_blueprint(outer)
    return app


def test_a_deprecated_blueprint_marks_its_views_and_a_views_own_deprecation_wins() -> None:
    client = _blueprint_app().test_client()
    assert _deprecation_of(client.get("/outer/plain")) == DEPRECATION_HEADERS
    assert client.get("/outer/own").status_code == 410
    assert client.get("/outer/inner/deep").headers["Deprecation"] == "@1798761600"  # the innermost's
    assert "Deprecation" not in client.get("/items").headers


def test_a_retired_blueprint_is_410_even_for_a_view_deprecated_on_its_own() -> None:
    # As a retired router (FastAPI) or URL include (Django) answers: the view's own, live deprecation
    # gives the headers only while the blueprint still answers.
    app = make_app()
    retired = deprecate(Blueprint("retired", __name__, url_prefix="/retired"), RETIRED)

    @retired.get("/own")
    @deprecated(OTHER)
    def own() -> Response:
        return jsonify(ok=True)

    app.register_blueprint(retired)
    reply = app.test_client().get("/retired/own")
    assert reply.status_code == 410
    assert reply.headers["Deprecation"] == "@1577836800"  # the blueprint's


def test_the_access_line_says_deprecated(log_lines: Any) -> None:
    client = make_app().test_client()
    client.get("/old")
    client.get("/items")
    client.get("/old?fail=1")
    access = [(x["http_path"], x.get("deprecated")) for x in log_lines.lines if x["logger"] == "backendkit.access"]
    assert access == [("/old", True), ("/items", None), ("/old?fail=1", True)]


# API versions

VERSIONS = Versioning({"1": OLD, "2": None, "3": RETIRED}, source="path")


def _versioned_app(**options: Any) -> Flask:
    app = make_app(**options)
    for name in ("1", "2", "3"):
        blueprint = Blueprint(f"v{name}", __name__, url_prefix=f"/v{name}")

        @blueprint.get("/who")
        def who() -> Response:
            return jsonify(version=get_api_version(), native=g.api_version)

        @blueprint.post("/who")
        def post_who() -> Response:
            raise NotFound("Nothing here.")

        @blueprint.get("/own")
        @deprecated(OTHER)
        def own() -> Response:
            return jsonify(ok=True)

        app.register_blueprint(blueprint)
    return app


def test_the_version_from_the_path_and_a_deprecated_versions_headers() -> None:
    client = _versioned_app(versioning=VERSIONS).test_client()
    v1 = client.get("/v1/who")
    assert (v1.get_json(), _deprecation_of(v1)) == ({"version": "1", "native": "1"}, DEPRECATION_HEADERS)
    for r in (client.post("/v1/who"), client.get("/v1/nowhere"), client.delete("/v1/who")):
        assert (r.status_code, _deprecation_of(r)) in ((404, DEPRECATION_HEADERS), (405, DEPRECATION_HEADERS))
    v2 = client.get("/v2/who")
    assert (v2.get_json(), v2.headers.get("Deprecation")) == ({"version": "2", "native": "2"}, None)
    assert client.get("/v1/own").headers["Deprecation"] == "@1798761600"  # the view's own wins over its version's
    unversioned = client.get("/whoami").get_json()
    assert (unversioned["version"], unversioned["native"]) == (None, None)
    assert api_version_var.get() is None  # unbound once the request is done


def test_an_unknown_version_is_404_and_a_retired_one_410() -> None:
    client = _versioned_app(versioning=VERSIONS).test_client()
    unknown = client.get("/v9/who", headers={"X-Request-ID": "rid-v9"})
    assert unknown.status_code == 404
    assert unknown.get_json()["error"] == {
        "code": "UNSUPPORTED_VERSION",
        "message": "API version '9' is not served; supported versions: 1, 2, 3.",
        "details": {"requested": "9", "supported": ["1", "2", "3"]},
        "request_id": "rid-v9",
    }
    retired = client.get("/v3/who")
    assert (retired.status_code, retired.headers["Sunset"]) == (410, "Fri, 01 Jan 2021 00:00:00 GMT")


def test_the_version_from_a_header_varies_on_it() -> None:
    versions = {"versions": ["1", "2"], "source": "header", "header": "X-API-Version"}
    client = make_app(versioning=versions, conditional_requests=None).test_client()
    r = client.get("/whoami", headers={"X-API-Version": "1"})
    assert (r.get_json()["version"], r.get_json()["native"], r.headers["Vary"]) == ("1", "1", "X-API-Version")
    assert client.get("/whoami").get_json()["version"] == "2"
    refused = client.get("/whoami", headers={"X-API-Version": "7"})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (400, "UNSUPPORTED_VERSION")


def test_the_access_line_says_deprecated_for_a_retired_versions_410(log_lines: Any) -> None:
    _versioned_app(versioning=VERSIONS).test_client().get("/v3/who")
    access = [x for x in log_lines.lines if x["logger"] == "backendkit.access"]
    assert [(x["http_status"], x.get("deprecated")) for x in access] == [(410, True)]


def test_versioning_from_the_config_key() -> None:
    app = _versioned_app(versioning=None, conditional_requests=None)
    assert app.test_client().get("/v9/who").get_json()["error"]["code"] == "NOT_FOUND"
    configured = Flask(__name__)
    configured.config["BACKENDKIT_VERSIONING"] = VERSIONS
    BackendKit(configured)
    assert configured.test_client().get("/v9/who").get_json()["error"]["code"] == "UNSUPPORTED_VERSION"


def test_a_304_and_a_412_still_carry_cors_security_and_request_id_headers() -> None:
    client = make_app(cors={"allow_origins": ["https://app.test"]}).test_client()
    tag = client.get("/items").headers["ETag"]
    origin = {"Origin": "https://app.test", "X-Request-ID": "rid-cors"}
    for r in (
        client.get("/items", headers={**origin, "If-None-Match": tag}),
        client.put("/things/1", json={"title": "a"}, headers={**origin, "If-Match": '"v2"'}),
    ):
        assert r.status_code in (304, 412)
        assert r.headers["Access-Control-Allow-Origin"] == "https://app.test"
        assert "ETag" in r.headers["Access-Control-Expose-Headers"]
        assert (r.headers["X-Request-ID"], r.headers["X-Content-Type-Options"]) == ("rid-cors", "nosniff")


class _Closing:
    """A response body that says when it is closed (a file or a stream would be)."""

    def __init__(self, closed: list[str]) -> None:
        self.closed = closed

    def __iter__(self) -> Any:
        return iter([b'{"ok":true}'])

    def close(self) -> None:
        self.closed.append("closed")


def test_a_304_or_a_412_in_place_of_an_answer_closes_its_body_and_keeps_the_hooks_headers() -> None:
    closed: list[str] = []
    app = make_app()

    @app.get("/closing")
    def closing() -> Response:
        return Response(_Closing(closed), headers={"ETag": '"c1"'}, content_type="application/json")

    @app.after_request
    def hook(response: Response) -> Response:
        response.headers["X-Hook"] = "ran"
        response.set_cookie("seen", "1")
        return response

    client = app.test_client()
    fresh = client.get("/closing", headers={"If-None-Match": '"c1"'})
    assert fresh.status_code == 304
    fresh.close()  # (what a WSGI server does with the answer it sent)
    assert closed == ["closed"]
    failed = client.get("/closing", headers={"If-Match": '"c0"'})
    assert failed.status_code == 412
    assert closed == ["closed", "closed"]
    assert (failed.headers["X-Hook"], failed.headers["ETag"]) == ("ran", '"c1"')
    assert failed.headers["Set-Cookie"].startswith("seen=1")
    assert failed.get_json()["error"]["code"] == "PRECONDITION_FAILED"


def test_a_304_keeps_allow_as_on_the_other_frameworks() -> None:
    app = make_app()

    @app.get("/allowing")
    def allowing() -> tuple[Response, int, dict[str, str]]:
        return jsonify(ok=True), 200, {"ETag": '"a1"', "Allow": "GET, HEAD"}

    reply = app.test_client().get("/allowing", headers={"If-None-Match": '"a1"'})
    assert (reply.status_code, reply.headers["Allow"]) == (304, "GET, HEAD")
