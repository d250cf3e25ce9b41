"""Flask: CORS and security headers on every response, preflights and CSP reports answered first."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask, Response, g, jsonify, render_template_string, request
from flask.testing import FlaskClient
from pydantic import BaseModel

from backendkit.errors import ConfigurationError
from backendkit.flask import BackendKit, parse_json
from backendkit.flask.auth import require
from backendkit.flask.health import health_routes
from backendkit.flask.idempotency import idempotent
from backendkit.flask.ratelimit import limit
from backendkit.flask.security import security_headers
from backendkit.health import Health
from backendkit.idempotency import Idempotency, MemoryStore
from backendkit.ratelimit import Limit
from backendkit.security import CSP
from tests.auth.apps import verifier
from tests.auth.keys import token
from tests.support.security import (
    API_HEADERS,
    CORS_SETTING,
    HSTS,
    NONCE_IN_PAGE,
    ORIGIN,
    PREFLIGHT_HEADERS,
    REPORT_PATH,
    assert_cors_and_security,
    csp_report,
    lower,
    nonce_of_policy,
    security_setting,
    vary,
)

FROM_ORIGIN = {"Origin": ORIGIN}
PAGE = '<!doctype html><script nonce="{{ csp_nonce }}">document.title = "ok"</script>'


class Item(BaseModel):
    name: str


def make_app(**options: Any) -> Flask:
    app = Flask(__name__)
    settings: dict[str, Any] = {
        "cors": CORS_SETTING,
        "security_headers": security_setting(),
        "max_body_size": 64,
        "auth": verifier(),
    }
    BackendKit(app, **{**settings, **options})
    replays = Idempotency(MemoryStore())

    @app.get("/ok")
    def ok() -> Any:
        return {"ok": True}

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("a bug")

    @app.post("/items")
    def items() -> Any:
        return parse_json(Item).model_dump(), 201

    @app.post("/echo")
    def echo() -> Any:
        return {"size": len(request.get_data())}

    @app.get("/me")
    @require()
    def me() -> Any:
        return {"ok": True}

    @app.get("/limited")
    @limit("1/minute")
    def limited() -> Any:
        return {"ok": True}

    @app.post("/pay")
    @idempotent(replays)
    def pay() -> Any:
        return {"paid": True}, 201

    @app.get("/page")
    def page() -> str:
        return render_template_string(PAGE)

    @app.get("/nonce")
    def nonce() -> Any:
        return {"nonce": str(g.csp_nonce)}

    @app.get("/framed")
    @security_headers(frame_options=None, referrer_policy="same-origin")
    def framed() -> Any:
        return {"ok": True}

    @app.get("/framed-boom")
    @security_headers(frame_options=None)
    def framed_boom() -> Any:
        raise RuntimeError("a bug")

    @app.get("/async-framed")
    @security_headers(content_security_policy=CSP(default_src=["'self'"]))
    async def async_framed() -> Any:
        return {"ok": True}

    @app.get("/cached")
    def cached() -> Any:
        response = jsonify(ok=True)
        response.headers["Cache-Control"] = "max-age=60"
        return response

    @app.get("/own-frame-options")
    def own() -> Any:
        return {"ok": True}, 200, {"X-Frame-Options": "SAMEORIGIN", "Access-Control-Allow-Origin": "*"}

    app.register_blueprint(health_routes(Health()))
    return app


@pytest.fixture
def client() -> FlaskClient:
    return make_app().test_client()


def preflight(
    client: FlaskClient, path: str, origin: str = ORIGIN, method: str = "PUT", asks: str | None = None
) -> Any:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if asks is not None:
        sent["Access-Control-Request-Headers"] = asks
    return client.open(path, method="OPTIONS", headers=sent)


# Preflights


@pytest.mark.parametrize("path", ["/ok", "/me", "/nowhere", "/pay"])
def test_an_allowed_preflight_is_a_204_on_any_path(client: FlaskClient, path: str) -> None:
    reply = preflight(client, path, asks="authorization, idempotency-key, content-type")
    headers = lower(reply.headers)
    assert (reply.status_code, reply.data) == (204, b"")
    for name, value in PREFLIGHT_HEADERS.items():
        assert headers[name] == value
    assert headers["access-control-allow-headers"] == "authorization, idempotency-key, content-type"
    assert vary(headers) >= {"origin", "access-control-request-method", "access-control-request-headers"}
    assert "content-type" not in headers  # no body, no media type (the same 204 as on ASGI)
    assert headers["x-request-id"]
    for name, value in API_HEADERS.items():
        assert headers[name] == value


@pytest.mark.parametrize(
    ("origin", "method", "reason"),
    [
        ("https://evil.test", "PUT", "the origin 'https://evil.test' is not allowed"),
        ("https://example.com.evil.test", "GET", "the origin 'https://example.com.evil.test' is not allowed"),
        ("null", "GET", "the origin 'null' is not allowed"),
        (ORIGIN, "TRACE", "the method 'TRACE' is not allowed"),
    ],
)
def test_a_refused_preflight_is_the_403_envelope_without_allow_headers(
    client: FlaskClient, origin: str, method: str, reason: str
) -> None:
    for path in ("/ok", "/nowhere"):
        reply = preflight(client, path, origin=origin, method=method)
        headers = lower(reply.headers)
        assert reply.status_code == 403
        error = reply.get_json()["error"]
        assert error == {
            "code": "CORS_REFUSED",
            "message": f"CORS preflight refused: {reason}.",
            "request_id": headers["x-request-id"],
        }
        assert not [name for name in headers if name.startswith("access-control-allow")]
        assert "origin" in vary(headers)
        assert headers["content-security-policy"] == API_HEADERS["content-security-policy"]


def test_an_options_request_that_is_no_preflight_reaches_the_app(client: FlaskClient) -> None:
    reply = client.open("/ok", method="OPTIONS", headers=FROM_ORIGIN)  # no Access-Control-Request-Method
    assert reply.status_code == 200  # Flask's own OPTIONS answer
    assert set(reply.headers["Allow"].split(", ")) >= {"GET", "OPTIONS"}
    assert lower(reply.headers)["access-control-allow-origin"] == ORIGIN


def test_preflights_are_not_counted_by_the_rate_limit_nor_refused_by_authentication() -> None:
    app = make_app(rate_limits=Limit("2/minute"))
    client = app.test_client()
    for _ in range(5):
        assert preflight(client, "/me", asks="authorization").status_code == 204
    first = client.get("/ok", headers=FROM_ORIGIN)
    assert (first.status_code, first.headers["RateLimit"].split(";r=")[1][0]) == (200, "1")
    assert client.get("/ok").status_code == 200
    refused = client.get("/ok", headers=FROM_ORIGIN)
    assert refused.status_code == 429
    assert_cors_and_security(lower(refused.headers))
    assert refused.headers["Retry-After"]


def test_preflights_do_not_start_an_idempotent_request() -> None:
    app = make_app(idempotency=Idempotency(MemoryStore(), required=True))
    client = app.test_client()
    assert preflight(client, "/pay", method="POST", asks="idempotency-key").status_code == 204
    assert client.post("/pay", headers=FROM_ORIGIN).status_code == 400  # the key is required by a real request


# Every response the application sends


def _bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub='ada')}"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/ok", None, 200),
        ("POST", "/items", b'{"name": "a"}', 201),
        ("GET", "/nowhere", None, 404),
        ("DELETE", "/ok", None, 405),
        ("GET", "/me", None, 401),
        ("POST", "/echo", b"x" * 100, 413),
        ("POST", "/items", b'{"name": 1}', 422),
        ("POST", "/items", b"{", 400),
        ("GET", "/boom", None, 500),
        ("GET", "/livez", None, 200),
    ],
)
def test_every_status_carries_the_cors_and_security_headers(
    client: FlaskClient, method: str, path: str, body: bytes | None, status: int
) -> None:
    headers = {**FROM_ORIGIN, "Content-Type": "application/json"}
    reply = client.open(path, method=method, data=body, headers=headers)
    assert reply.status_code == status
    assert_cors_and_security(lower(reply.headers))
    if path != "/livez":  # (a probe says no-store itself)
        assert "cache-control" not in lower(reply.headers)  # no credentials sent


def test_the_429_of_a_view_limit_carries_them(client: FlaskClient) -> None:
    assert client.get("/limited", headers=FROM_ORIGIN).status_code == 200
    refused = client.get("/limited", headers=FROM_ORIGIN)
    assert refused.status_code == 429
    headers = lower(refused.headers)
    assert_cors_and_security(headers)
    assert {"ratelimit", "ratelimit-policy", "retry-after"} <= set(headers)


def test_an_idempotent_replay_carries_them_for_the_origin_that_asks(client: FlaskClient) -> None:
    key = {"Idempotency-Key": '"k-1"', "Content-Type": "application/json"}
    first = client.post("/pay", data=b"{}", headers=key)  # no Origin: no CORS headers stored with it
    assert "access-control-allow-origin" not in lower(first.headers)
    replay = client.post("/pay", data=b"{}", headers={**key, **FROM_ORIGIN})
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, "true")
    assert_cors_and_security(lower(replay.headers))


def test_the_500_of_a_failing_after_request_hook_carries_them() -> None:
    app = make_app()

    @app.after_request
    def fails(response: Response) -> Response:
        raise RuntimeError("a bug after the view")

    reply = app.test_client().get("/ok", headers=FROM_ORIGIN)
    assert reply.status_code == 500
    assert_cors_and_security(lower(reply.headers))


def test_a_disallowed_origin_gets_no_cors_headers_but_vary_and_the_security_headers(client: FlaskClient) -> None:
    for path in ("/ok", "/boom"):
        headers = lower(client.get(path, headers={"Origin": "https://evil.test"}).headers)
        assert not [name for name in headers if name.startswith("access-control-")]
        assert "origin" in vary(headers)
        assert headers["x-frame-options"] == "DENY"


def test_a_pattern_matches_one_subdomain_label(client: FlaskClient) -> None:
    allowed = lower(client.get("/ok", headers={"Origin": "https://a.example.com"}).headers)
    assert allowed["access-control-allow-origin"] == "https://a.example.com"
    deeper = lower(client.get("/ok", headers={"Origin": "https://a.b.example.com"}).headers)
    assert "access-control-allow-origin" not in deeper


def test_a_security_header_the_view_sets_is_kept_a_cors_header_is_the_policys(client: FlaskClient) -> None:
    headers = lower(client.get("/own-frame-options", headers=FROM_ORIGIN).headers)
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["access-control-allow-origin"] == ORIGIN  # the policy's answer replaces the view's "*"


# HSTS and no-store


def test_hsts_only_over_https(client: FlaskClient) -> None:
    assert "strict-transport-security" not in lower(client.get("/ok").headers)
    assert lower(client.get("/ok", base_url="https://localhost").headers)["strict-transport-security"] == HSTS
    spoofed = client.get("/ok", headers={"X-Forwarded-Proto": "https"})  # no trusted proxy: not believed
    assert "strict-transport-security" not in lower(spoofed.headers)


def test_hsts_through_a_trusted_proxy() -> None:
    client = make_app(trusted_proxies=1).test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    assert lower(client.get("/ok", headers=forwarded).headers)["strict-transport-security"] == HSTS
    plain = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http"}
    assert "strict-transport-security" not in lower(client.get("/ok", headers=plain).headers)


def test_no_store_on_authenticated_requests_unless_the_view_says(client: FlaskClient) -> None:
    assert lower(client.get("/me", headers=_bearer()).headers)["cache-control"] == "no-store"
    assert lower(client.get("/me", headers={"Authorization": "Bearer nope"}).headers)["cache-control"] == "no-store"
    assert lower(client.get("/cached", headers=_bearer()).headers)["cache-control"] == "max-age=60"


# Per-view changes


def test_a_view_changes_and_removes_headers(client: FlaskClient) -> None:
    headers = lower(client.get("/framed", headers=FROM_ORIGIN).headers)
    assert "x-frame-options" not in headers
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["access-control-allow-origin"] == ORIGIN
    assert "x-frame-options" not in lower(client.get("/framed-boom").headers)  # its errors too
    assert lower(client.get("/ok").headers)["x-frame-options"] == "DENY"  # other views keep the default


def test_an_async_view_changes_its_policy(client: FlaskClient) -> None:
    reply = client.get("/async-framed")
    assert (reply.status_code, reply.headers["Content-Security-Policy"]) == (200, "default-src 'self'")


def test_an_unknown_header_keyword_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="'frame_option' is not a security header"):
        security_headers(frame_option=None)
    with pytest.raises(ConfigurationError, match="referrer_policy is a header value"):
        security_headers(referrer_policy="a\nb")


# The nonce


def test_the_nonce_in_the_page_is_the_one_in_its_policy(client: FlaskClient) -> None:
    first, second = client.get("/page"), client.get("/page")
    nonces = []
    for reply in (first, second):
        found = NONCE_IN_PAGE.search(reply.get_data(as_text=True))
        assert found is not None
        policy = reply.headers["Content-Security-Policy"]
        assert nonce_of_policy(policy) == found.group(1)
        assert policy.startswith("default-src 'self'; script-src 'self' 'nonce-")
        assert policy.endswith(f"report-uri {REPORT_PATH}")
        assert reply.headers["X-Frame-Options"] == "DENY"
        nonces.append(found.group(1))
    assert nonces[0] != nonces[1]
    assert len(nonces[0]) >= 22  # 128 bits


def test_g_holds_the_nonce_the_api_policy_does_not_use(client: FlaskClient) -> None:
    reply = client.get("/nonce")
    assert reply.get_json()["nonce"]
    assert reply.headers["Content-Security-Policy"] == API_HEADERS["content-security-policy"]


def test_without_security_headers_only_cors_is_added() -> None:
    client = make_app(security_headers=False).test_client()  # (a keyword None is "not given")
    headers = lower(client.get("/ok", headers=FROM_ORIGIN).headers)
    assert not set(API_HEADERS) & set(headers)
    assert headers["access-control-allow-origin"] == ORIGIN


def test_with_both_off_nothing_is_added_and_templates_have_no_nonce() -> None:
    app = Flask(__name__)
    app.config["BACKENDKIT_SECURITY_HEADERS"] = None
    BackendKit(app)
    app.add_url_rule("/page", view_func=lambda: render_template_string(PAGE))
    reply = app.test_client().get("/page", headers=FROM_ORIGIN)
    assert reply.get_data(as_text=True) == PAGE.replace("{{ csp_nonce }}", "")
    assert not {*API_HEADERS, "access-control-allow-origin", "vary"} & set(lower(reply.headers))


# CSP reports


def test_a_report_is_logged_redacted_and_answered_204(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="backendkit.security.csp"):
        reply = client.post(REPORT_PATH, data=csp_report(), content_type="application/csp-report")
    assert (reply.status_code, reply.data) == (204, b"")
    assert "content-type" not in lower(reply.headers)
    [record] = [r for r in caplog.records if r.name == "backendkit.security.csp"]
    assert record.getMessage() == f"CSP violation: script-src-elem blocked inline on {ORIGIN}/page"
    assert record.csp == {  # type: ignore[attr-defined]
        "document_uri": f"{ORIGIN}/page",
        "blocked_uri": "inline",
        "directive": "script-src-elem",
    }
    assert "s3cret" not in caplog.text
    assert "alert(1)" not in caplog.text


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (
            b'{"csp-report": {"document-uri": "' + b"x" * 400 + b'"}}',
            "application/csp-report",
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (csp_report(), "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"{not json", "application/csp-report", 400, "MALFORMED_JSON"),
        (b'{"something": "else"}', "application/csp-report", 400, "MALFORMED_JSON"),
    ],
)
def test_a_bad_report_is_refused_with_the_envelope(
    client: FlaskClient, body: bytes, content_type: str, status: int, code: str
) -> None:
    reply = client.post(REPORT_PATH, data=body, content_type=content_type, headers=FROM_ORIGIN)
    assert reply.status_code == status
    assert reply.get_json()["error"]["code"] == code
    assert_cors_and_security(lower(reply.headers))


def test_reports_over_the_budget_are_429(client: FlaskClient) -> None:
    sent = [client.post(REPORT_PATH, data=csp_report(), content_type="application/csp-report") for _ in range(4)]
    assert [reply.status_code for reply in sent] == [204, 204, 204, 429]
    assert sent[-1].get_json()["error"]["code"] == "RATE_LIMITED"
    assert sent[-1].headers["Retry-After"]


def test_a_report_is_taken_before_the_body_limit_and_the_rate_limit() -> None:
    client = make_app(max_body_size=10, rate_limits=Limit("1/minute")).test_client()
    for _ in range(2):
        reply = client.post(REPORT_PATH, data=csp_report(), content_type="application/csp-report")
        assert reply.status_code == 204
    assert client.get("/ok").status_code == 200


def test_the_report_path_answers_every_other_method_with_a_405(client: FlaskClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        reply = client.open(REPORT_PATH, method=method)
        assert reply.status_code == 405
        assert reply.headers["Allow"] == "POST"
        assert reply.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_stacked_changes_add_up_and_the_innermost_wins() -> None:
    from flask import Flask

    from backendkit.flask import BackendKit
    from backendkit.flask.security import security_headers as changed

    app = Flask(__name__)
    BackendKit(app)

    @app.get("/stacked")
    @changed(frame_options=None, referrer_policy="origin")
    @changed(referrer_policy="same-origin")
    def stacked() -> dict[str, bool]:
        return {"ok": True}

    reply = app.test_client().get("/stacked")
    assert "X-Frame-Options" not in reply.headers
    assert reply.headers["Referrer-Policy"] == "same-origin"


def test_no_hook_of_the_app_runs_for_a_preflight_or_a_report() -> None:
    # Flask runs every after_request hook on any response it sends; an app hook that reads what its own
    # before_request hook set turned a preflight into a 500 while the answer came from a Flask hook.
    import time

    from flask import Flask, g

    from backendkit.flask import BackendKit

    app = Flask(__name__)
    BackendKit(app, cors={"allow_origins": ["https://app.example.com"]}, security_headers={"report_path": "/csp"})
    ran: list[str] = []

    @app.before_request
    def start_timer() -> None:
        ran.append("before")
        g.t0 = time.perf_counter()

    @app.after_request
    def timing(response: Response) -> Response:
        ran.append("after")
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.t0) * 1000:.1f}"
        return response

    client = app.test_client()
    asking = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"}
    preflight = client.options("/anything", headers=asking)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert preflight.headers["X-Request-ID"]
    assert preflight.headers["X-Content-Type-Options"] == "nosniff"
    refused = client.options("/anything", headers={**asking, "Origin": "https://evil.test"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "CORS_REFUSED"
    report = b'{"csp-report": {"blocked-uri": "inline"}}'
    taken = client.post("/csp", data=report, headers={"Content-Type": "application/csp-report"})
    assert taken.status_code == 204
    assert ran == []  # none of the app's hooks ran for these three
    assert "Server-Timing" in client.get("/missing").headers  # (they run for everything else)
    assert ran == ["before", "after"]
