"""Flask: configuration keys, the app-factory pattern, hooks that fail, and werkzeug's errors."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest
from flask import Flask, abort, jsonify, request

from backendkit import ConfigurationError
from backendkit.context import get_request_id
from backendkit.flask import BackendKit
from tests.support.net import request as socket_request
from tests.support.servers import waitress_server


def make_app(config: dict[str, Any] | None = None, **options: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config or {})
    BackendKit(app, **options)

    @app.get("/abort/<int:code>")
    def do_abort(code: int) -> None:
        abort(code)

    @app.get("/abort-custom")
    def abort_custom() -> None:
        abort(403, description="Only owners may do that.")

    @app.post("/echo")
    def echo() -> Any:
        return jsonify(request.get_json())

    @app.get("/whoami")
    def whoami() -> Any:
        return jsonify(request_id=get_request_id())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret")

    return app


def test_problem_format_from_config() -> None:
    client = make_app({"BACKENDKIT_ERROR_FORMAT": "problem"}).test_client()
    r = client.get("/missing")
    assert r.status_code == 404
    assert r.content_type == "application/problem+json"
    assert r.get_json()["instance"] == "/missing"


def test_keyword_options_win_over_config() -> None:
    client = make_app({"BACKENDKIT_ERROR_FORMAT": "problem"}, error_format="envelope").test_client()
    assert client.get("/missing").content_type == "application/json"


def test_unknown_config_key_fails_at_init() -> None:
    app = Flask(__name__)
    app.config["BACKENDKIT_EROR_FORMAT"] = "problem"
    with pytest.raises(ConfigurationError, match="BACKENDKIT_EROR_FORMAT"):
        BackendKit(app)


def test_app_factory_pattern_keeps_apps_apart() -> None:
    ext = BackendKit()
    first, second = Flask("first"), Flask("second")
    second.config["BACKENDKIT_REQUEST_ID_HEADER"] = "X-Trace"
    ext.init_app(first)
    ext.init_app(second)
    assert "X-Request-ID" in first.test_client().get("/").headers
    second_headers = second.test_client().get("/").headers
    assert "X-Trace" in second_headers
    assert "X-Request-ID" not in second_headers
    with pytest.raises(RuntimeError, match="already installed"):
        ext.init_app(first)


def test_abort_default_and_custom_messages() -> None:
    client = make_app().test_client()
    assert client.get("/abort/403", headers={"X-Request-ID": "a1"}).get_json()["error"] == {
        "code": "FORBIDDEN",
        "message": "You do not have permission to perform this action.",
        "request_id": "a1",
    }
    assert client.get("/abort-custom").get_json()["error"]["message"] == "Only owners may do that."
    length = client.get("/abort/411").get_json()["error"]  # a status without a class of ours: its title
    assert (length["code"], length["message"]) == ("LENGTH_REQUIRED", "Length Required")
    gone = client.get("/abort/410").get_json()["error"]  # one with a class: the class's message
    assert (gone["code"], gone["message"]) == ("GONE", "This resource is no longer available.")


def test_get_json_failures() -> None:
    client = make_app().test_client()
    r = client.post("/echo", data=b"{nope", content_type="application/json")
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "MALFORMED_JSON")
    r = client.post("/echo", data=b"{}", content_type="text/plain")
    assert r.status_code == 415
    assert r.get_json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert r.get_json()["error"]["message"] == "The request body must be JSON (Content-Type: application/json)."


def test_body_too_large_is_413_json() -> None:
    client = make_app({"MAX_CONTENT_LENGTH": 10}).test_client()
    r = client.post("/echo", data=b'{"a": "' + b"x" * 100 + b'"}', content_type="application/json")
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    # Declared too large: refused even by a view that never reads its body.
    r = client.get("/whoami", data=b"x" * 11)
    assert (r.status_code, r.get_json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


def test_max_body_size_is_flasks_max_content_length() -> None:
    app = make_app(max_body_size=10)
    assert app.config["MAX_CONTENT_LENGTH"] == 10  # werkzeug cuts a streamed body there
    r = app.test_client().post("/echo", data=b'{"a": "' + b"x" * 100 + b'"}', content_type="application/json")
    assert (r.status_code, r.get_json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert make_app({"MAX_CONTENT_LENGTH": 10, "BACKENDKIT_MAX_BODY_SIZE": 10}).config["MAX_CONTENT_LENGTH"] == 10
    with pytest.raises(ConfigurationError, match="disagree"):
        make_app({"MAX_CONTENT_LENGTH": 10}, max_body_size=20)


def test_failing_hooks_are_rendered_too() -> None:
    app = make_app()

    @app.before_request
    def guard() -> None:
        if request.path == "/whoami" and request.args.get("deny"):
            raise PermissionError("hook bug")

    @app.after_request
    def breaks(response: Any) -> Any:
        if request.args.get("break"):
            raise RuntimeError("after hook bug")
        return response

    client = app.test_client()
    r = client.get("/whoami?deny=1", headers={"X-Request-ID": "hook-1"})
    assert (r.status_code, r.headers["X-Request-ID"]) == (500, "hook-1")
    assert r.get_json()["error"]["request_id"] == "hook-1"
    r = client.get("/whoami?break=1", headers={"X-Request-ID": "hook-2"})
    assert r.status_code == 500
    assert r.get_json()["error"]["code"] == "INTERNAL_ERROR"
    assert r.headers["X-Request-ID"] == "hook-2"
    assert b"after hook bug" not in r.data


def test_bugs_still_reach_error_reporters() -> None:
    from flask.signals import got_request_exception

    app = make_app()
    received: list[BaseException] = []

    def receiver(sender: Flask, exception: BaseException, **kwargs: object) -> None:
        received.append(exception)

    got_request_exception.connect(receiver, app)
    client = app.test_client()
    assert client.get("/boom").status_code == 500
    assert client.get("/abort/404").status_code == 404  # a mapped error is not a bug: no signal
    assert [str(e) for e in received] == ["secret"]


def test_redirects_and_app_responses_pass_through() -> None:
    from flask import Response
    from werkzeug.exceptions import Unauthorized
    from werkzeug.routing import RequestRedirect

    app = make_app()

    @app.get("/moved")
    def moved() -> None:
        raise RequestRedirect("/elsewhere")

    @app.get("/challenge")
    def challenge() -> None:
        raise Unauthorized(response=Response("no", status=401, headers={"WWW-Authenticate": "Basic"}))

    client = app.test_client()
    r = client.get("/moved", headers={"X-Request-ID": "redir-1"})
    assert (r.status_code, r.headers["Location"], r.headers["X-Request-ID"]) == (308, "/elsewhere", "redir-1")
    r = client.get("/challenge")
    assert (r.status_code, r.headers["WWW-Authenticate"], r.data) == (401, "Basic", b"no")


def test_missing_form_key_shows_no_werkzeug_text() -> None:
    app = make_app({"DEBUG": True})

    @app.post("/form")
    def form() -> str:
        return request.form["name"]

    r = app.test_client().post("/form", data={"other": "x"})
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == "The request could not be understood."
    assert b"name" not in r.data


def test_context_is_cleared_after_each_request() -> None:
    client = make_app().test_client()
    client.get("/whoami", headers={"X-Request-ID": "one"})
    assert get_request_id() is None


def test_debug_errors() -> None:
    r = make_app({"BACKENDKIT_DEBUG_ERRORS": True}).test_client().get("/boom")
    assert r.get_json()["error"]["details"]["message"] == "secret"


@pytest.mark.socket
def test_concurrent_requests_keep_their_own_ids() -> None:
    results: dict[str, tuple[str, str]] = {}
    failures: list[str] = []

    def call(port: int, n: int) -> None:
        rid = f"thread-{n}"
        try:
            reply = socket_request(port, "GET", "/whoami", headers={"X-Request-ID": rid})
            results[rid] = (reply.headers["x-request-id"], json.loads(reply.body)["request_id"])
        except Exception as exc:  # reported below: a thread's exception would otherwise vanish
            failures.append(f"{rid}: {exc!r}")

    with waitress_server(make_app()) as port:
        threads = [threading.Thread(target=call, args=(port, n)) for n in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
    assert results == {f"thread-{n}": (f"thread-{n}", f"thread-{n}") for n in range(40)}


def test_url_value_preprocessors_run_inside_the_request_context(log_lines: Any) -> None:
    app = make_app()

    @app.url_value_preprocessor
    def load_tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if request.args.get("tenant") == "gone":
            abort(404)

    r = app.test_client().get("/whoami?tenant=gone", headers={"X-Request-ID": "pre-1"})
    assert (r.status_code, r.headers["X-Request-ID"]) == (404, "pre-1")
    access = [x for x in log_lines.lines if x["logger"] == "backendkit.access"]
    assert [(x["request_id"], x["http_status"]) for x in access] == [("pre-1", 404)]


@pytest.mark.parametrize(
    ("limits", "says"), [("5/minute", "write Limit('5/minute')"), (["5/minute"], "write Limit('5/minute')")]
)
def test_a_rate_string_for_every_request_says_what_to_write(limits: object, says: str) -> None:
    # It was list("5/minute"): an AttributeError on the character '5'.
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        make_app({"BACKENDKIT_RATE_LIMITS": limits})


def test_rate_limits_from_the_config() -> None:
    from backendkit.ratelimit import Limit

    app = make_app({"BACKENDKIT_RATE_LIMITS": Limit("2/minute")})
    client = app.test_client()
    assert [client.get("/whoami").status_code for _ in range(3)] == [200, 200, 429]


def test_a_405_lists_only_the_methods_whose_route_takes_the_url() -> None:
    # Werkzeug noted the methods of the routes it passed on the way to the one whose converter then
    # refused the value: DELETE /items/<4,301 digits> was a 405 with Allow: GET, HEAD (GET is a 404).
    app = Flask(__name__)
    BackendKit(app)
    no_options = {"provide_automatic_options": False}  # (the config key for it came with Flask 3.1)

    @app.get("/items/<int:n>", **no_options)
    def get_item(n: int) -> Any:
        return jsonify(n=n)

    @app.delete("/items/<int:n>", **no_options)
    def delete_item(n: int) -> Any:
        return jsonify(deleted=n)

    @app.get("/small/<int(max=10):n>", **no_options)
    def get_small(n: int) -> Any:
        return jsonify(n=n)

    @app.delete("/small/<int:n>", **no_options)
    def delete_small(n: int) -> Any:
        return jsonify(deleted=n)

    client = app.test_client()
    huge = "1" * 4301
    for method in ("GET", "HEAD", "DELETE", "PUT", "PATCH"):
        reply = client.open(f"/items/{huge}", method=method)
        assert (reply.status_code, reply.headers.get("Allow")) == (404, None), method
        if method != "HEAD":
            assert reply.get_json()["error"]["code"] == "NOT_FOUND"
    assert client.delete("/items/7").get_json() == {"deleted": 7}
    refused = client.put("/small/50")  # GET refuses 50 (max=10); DELETE takes it
    assert (refused.status_code, refused.headers["Allow"]) == (405, "DELETE")
    assert refused.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert client.put("/small/5").headers["Allow"] == "DELETE, GET, HEAD"
