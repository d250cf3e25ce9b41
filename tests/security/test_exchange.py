"""One request's exchange: which headers a response gets, how they meet the response's own, the report endpoint."""

from __future__ import annotations

import json

import pytest

from backendkit.asgi._respond import ResponseHeaders
from backendkit.errors import (
    ConfigurationError,
    ContentTooLarge,
    MalformedJSON,
    MethodNotAllowed,
    TooManyRequests,
    UnsupportedMediaType,
)
from backendkit.security import CORS, CSP, HTML_POLICY, HttpSecurity, SecurityHeaders, route_overrides
from backendkit.security._exchange import Nonce
from tests.support.logs import LineCatcher

APP = "https://app.example.com"


def security(cors: object = None, headers: object = True) -> HttpSecurity:
    made = HttpSecurity.from_settings(cors or {"allow_origins": [APP]}, headers, request_id_header="X-Request-ID")
    assert made is not None
    return made


def response(*pairs: tuple[str, str]) -> ResponseHeaders:
    return ResponseHeaders([(k.lower().encode(), v.encode()) for k, v in pairs])


def decorated(target: ResponseHeaders, **begin: object) -> ResponseHeaders:
    facts = {"origin": APP, "https": False, "authorization": False, **begin}
    overrides = facts.pop("overrides", None)
    sec = facts.pop("security", None) or security()
    sec.begin("GET", "/x", **facts).decorate(target, overrides)  # type: ignore[arg-type]
    return target


def test_both_settings_off_is_none_and_each_alone_works() -> None:
    assert HttpSecurity.from_settings(None, None, request_id_header="X-Request-ID") is None
    assert HttpSecurity.from_settings(None, False, request_id_header="X-Request-ID") is None
    only_headers = HttpSecurity.from_settings(None, True, request_id_header="X-Request-ID")
    assert only_headers is not None
    assert only_headers.cors is None
    target = response(("Content-Type", "application/json"))
    only_headers.begin("GET", "/", origin=APP, https=False, authorization=False).decorate(target)
    assert target.get("Access-Control-Allow-Origin") is None
    assert target.get("X-Content-Type-Options") == "nosniff"
    only_cors = HttpSecurity.from_settings(CORS(allow_origins=[APP]), None, request_id_header="X-Request-ID")
    assert only_cors is not None
    assert only_cors.headers is None
    target = response()
    only_cors.begin("GET", "/", origin=APP, https=False, authorization=False).decorate(target)
    assert target.get("Access-Control-Allow-Origin") == APP
    assert target.get("X-Content-Type-Options") is None


def test_cors_setting_forms() -> None:
    with pytest.raises(ConfigurationError, match="CORS"):
        HttpSecurity.from_settings({"allow_origin": [APP]}, True, request_id_header="X-Request-ID")
    with pytest.raises(ConfigurationError, match="CORS is"):
        HttpSecurity.from_settings([APP], True, request_id_header="X-Request-ID")
    from_mapping = security({"ALLOW_ORIGINS": [APP], "allow_credentials": True})
    assert from_mapping.cors is not None
    assert from_mapping.cors.allow_credentials


def test_the_request_id_header_is_allowed_and_exposed() -> None:
    sec = HttpSecurity.from_settings({"allow_origins": [APP]}, None, request_id_header="X-Correlation-ID")
    assert sec is not None
    assert sec.begin(
        "OPTIONS",
        "/",
        origin=APP,
        https=False,
        authorization=False,
        request_method="GET",
        request_headers="x-correlation-id",
    ).preflight.allowed  # type: ignore[union-attr]
    target = response()
    sec.begin("GET", "/", origin=APP, https=False, authorization=False).decorate(target)
    assert "X-Correlation-ID" in (target.get("Access-Control-Expose-Headers") or "").split(", ")


def test_begin_sees_a_preflight_only_in_an_options_with_origin_and_method() -> None:
    sec = security()

    def begin(method: str, **kw: object) -> object:
        return sec.begin(method, "/x", https=False, authorization=False, **kw)  # type: ignore[arg-type]

    assert begin("OPTIONS", origin=APP, request_method="PUT").preflight.allowed  # type: ignore[attr-defined]
    assert begin("OPTIONS", origin=None, request_method="PUT").preflight is None  # type: ignore[attr-defined]
    assert begin("OPTIONS", origin=APP).preflight is None  # type: ignore[attr-defined]
    assert begin("GET", origin=APP, request_method="PUT").preflight is None  # type: ignore[attr-defined]
    assert not begin("OPTIONS", origin="https://evil.test", request_method="PUT").preflight.allowed  # type: ignore[attr-defined]
    no_cors = security(headers=True)
    no_cors.cors = None
    assert (
        no_cors.begin("OPTIONS", "/", origin=APP, https=False, authorization=False, request_method="PUT").preflight
        is None
    )


def test_begin_sees_a_report_only_at_the_report_path() -> None:
    sec = security(headers={"report_path": "/csp-reports"})
    assert sec.begin("POST", "/csp-reports", origin=None, https=False, authorization=False).report
    assert sec.begin("GET", "/csp-reports", origin=None, https=False, authorization=False).report  # (a 405)
    assert not sec.begin("POST", "/csp-reports/", origin=None, https=False, authorization=False).report
    assert not security().begin("POST", "/csp-reports", origin=None, https=False, authorization=False).report


def test_vary_merges_with_the_response_vary() -> None:
    assert decorated(response(("Vary", "Accept-Encoding"))).get("Vary") == "Accept-Encoding, Origin"
    assert decorated(response(("Vary", "origin, Accept"))).get("Vary") == "origin, Accept"
    assert decorated(response(("Vary", "Accept"), ("Vary", "Cookie"))).get("Vary") == "Accept, Cookie, Origin"
    assert decorated(response(("Vary", "*"))).get("Vary") == "*"
    assert decorated(response()).get("Vary") == "Origin"
    assert decorated(response(), origin="https://evil.test").get("Vary") == "Origin"  # refused: still Vary


def test_a_preflight_vary_merges_all_its_names() -> None:
    target = response(("Vary", "Accept-Encoding, Origin"))
    security().begin("OPTIONS", "/", origin=APP, https=False, authorization=False, request_method="PUT").decorate(
        target
    )
    assert target.get("Vary") == (
        "Accept-Encoding, Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    )
    assert target.get("Access-Control-Allow-Methods") is not None


def test_cors_headers_replace_the_response_own_but_exposed_names_add_up() -> None:
    target = decorated(
        response(("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "X-Mine, link")),
        security=security({"allow_origins": [APP], "allow_credentials": True}),
    )
    assert target.get("Access-Control-Allow-Origin") == APP
    assert target.get("Access-Control-Allow-Credentials") == "true"
    exposed = (target.get("Access-Control-Expose-Headers") or "").split(", ")
    assert exposed[:2] == ["X-Mine", "link"]
    assert {"RateLimit", "X-Request-ID"} <= set(exposed)
    assert "Link" not in exposed  # no name twice, whatever its case
    assert [n for n in target.names if n == b"access-control-allow-origin"] == [b"access-control-allow-origin"]


def test_a_route_own_security_header_is_kept() -> None:
    target = decorated(
        response(
            ("X-Frame-Options", "SAMEORIGIN"),
            ("Content-Security-Policy", "default-src 'self'"),
            ("Cache-Control", "max-age=60"),
        ),
        authorization=True,
    )
    assert target.get("X-Frame-Options") == "SAMEORIGIN"
    assert target.get("Content-Security-Policy") == "default-src 'self'"
    assert target.get("Cache-Control") == "max-age=60"
    assert target.get("X-Content-Type-Options") == "nosniff"


def test_no_store_when_authorized_and_hsts_when_https() -> None:
    assert decorated(response(), authorization=True).get("Cache-Control") == "no-store"
    assert decorated(response()).get("Cache-Control") is None
    assert decorated(response(), https=True).get("Strict-Transport-Security") is not None
    assert decorated(response()).get("Strict-Transport-Security") is None


def test_route_overrides_reach_the_response() -> None:
    overrides = route_overrides(frame_options=None, referrer_policy="same-origin")
    target = decorated(response(), overrides=overrides)
    assert target.get("X-Frame-Options") is None
    assert target.get("Referrer-Policy") == "same-origin"


def test_the_nonce_is_made_only_for_html_that_uses_it_and_is_the_one_in_the_header() -> None:
    sec = security(headers=SecurityHeaders(html_policy=HTML_POLICY))
    api = sec.begin("GET", "/", origin=None, https=False, authorization=False)
    api.decorate(response(("Content-Type", "application/json")))
    assert not api.nonce.used
    page = sec.begin("GET", "/", origin=None, https=False, authorization=False)
    target = response(("Content-Type", "text/html; charset=utf-8"))
    page.decorate(target)
    assert page.nonce.used
    assert f"'nonce-{page.nonce}'" in (target.get("Content-Security-Policy") or "")
    other = sec.begin("GET", "/", origin=None, https=False, authorization=False)
    assert str(other.nonce) != str(page.nonce)
    own = sec.begin("GET", "/", origin=None, https=False, authorization=False)
    target = response(("Content-Type", "text/html"))
    own.decorate(target, route_overrides(content_security_policy=CSP(script_src=[CSP.NONCE])))
    assert target.get("Content-Security-Policy") == f"script-src 'nonce-{own.nonce}'"
    no_nonce = security(headers=SecurityHeaders(html_policy=CSP(default_src=["'self'"])))
    plain = no_nonce.begin("GET", "/", origin=None, https=False, authorization=False)
    plain.decorate(response(("Content-Type", "text/html")))
    assert not plain.nonce.used
    default = security().begin("GET", "/", origin=None, https=False, authorization=False)
    default.decorate(response(("Content-Type", "text/html")))  # no HTML policy by default: no nonce
    assert not default.nonce.used


def test_a_nonce_is_random_url_safe_and_html_safe() -> None:
    nonce = Nonce()
    assert repr(nonce) == "Nonce(None)"
    value = str(nonce)
    assert nonce.__html__() == value == nonce.value
    assert len(value) >= 22
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len({str(Nonce()) for _ in range(100)}) == 100


REPORT = json.dumps(
    {
        "csp-report": {
            "document-uri": "https://app.example.com/p?token=s3cret",
            "blocked-uri": "inline",
            "effective-directive": "script-src-elem",
        }
    }
).encode()


def test_take_report_logs_the_redacted_violation(log_lines: LineCatcher) -> None:
    sec = security(headers={"report_path": "/csp"})
    assert sec.take_report(REPORT, "application/csp-report", "198.51.100.7") == 204
    (line,) = [line for line in log_lines.lines if line.get("logger") == "backendkit.security.csp"]
    assert line["level"] == "warning"
    assert "s3cret" not in json.dumps(line)
    assert line["csp"]["document_uri"] == "https://app.example.com/p"


def test_take_report_refusals() -> None:
    sec = security(headers={"report_path": "/csp", "report_max_bytes": 600, "reports_per_minute": 2})
    with pytest.raises(ContentTooLarge):
        sec.take_report(b"x" * 601, "application/csp-report", "a")
    with pytest.raises(UnsupportedMediaType):
        sec.take_report(REPORT, "text/plain", "a")
    with pytest.raises(MalformedJSON):
        sec.take_report(b"{}", "application/csp-report", "a")
    with pytest.raises(TooManyRequests) as refused:  # a refused body spends the budget too: a loop cannot flood
        sec.take_report(REPORT, "application/csp-report", "a")
    assert refused.value.headers["Retry-After"] == "30"
    with pytest.raises(MalformedJSON):
        sec.take_report(b"{", "application/csp-report", "b")
    with pytest.raises(MethodNotAllowed):
        sec.take_report(REPORT, "application/csp-report", "c", method="PUT")
    assert sec.take_report(REPORT, "application/csp-report", None) == 204


def test_the_report_budget_counts_violations_not_bodies(log_lines: LineCatcher) -> None:
    sec = security(headers={"report_path": "/csp", "reports_per_minute": 3})
    entry = {"type": "csp-violation", "body": {"effectiveDirective": "script-src-elem", "blockedURL": "inline"}}
    many = json.dumps([entry] * 20).encode()
    assert sec.take_report(many, "application/reports+json", "a") == 204
    logged = [line for line in log_lines.lines if line.get("logger") == "backendkit.security.csp"]
    assert len(logged) == 3  # the budget of a minute, not twenty
    with pytest.raises(TooManyRequests):
        sec.take_report(many, "application/reports+json", "a")


def test_a_report_cannot_forge_a_log_line(log_lines: LineCatcher) -> None:
    sec = security(headers={"report_path": "/csp"})
    forged = {"csp-report": {"effective-directive": "script-src\nlevel=error FAKE", "blocked-uri": "inline\r\nx"}}
    assert sec.take_report(json.dumps(forged).encode(), "application/csp-report", "a") == 204
    (line,) = [line for line in log_lines.lines if line.get("logger") == "backendkit.security.csp"]
    assert "\n" not in line["message"]
    assert "\r" not in line["message"]
    assert line["csp"]["directive"] == "script-src?level=error FAKE"
