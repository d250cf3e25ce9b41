"""The security headers one response gets: defaults for a JSON API, HTML policies, HSTS, no-store, a route's changes."""

from __future__ import annotations

import pytest

from backendkit.errors import ConfigurationError
from backendkit.security import CSP, HTML_POLICY, SecurityHeaders, route_overrides
from backendkit.security._core.headers import DEFAULT_PERMISSIONS, overrides_use_nonce

API_DEFAULTS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": DEFAULT_PERMISSIONS,
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
HSTS = "max-age=31536000; includeSubDomains"


def headers_of(policy: SecurityHeaders, **facts: object) -> dict[str, str]:
    facts = {"html": False, "https": False, "authenticated": False, **facts}
    pairs = list(policy.for_response(**facts))  # type: ignore[arg-type]
    as_dict = dict(pairs)
    assert len(as_dict) == len(pairs), "a header twice"
    return as_dict


def test_the_defaults_of_a_json_api_response() -> None:
    assert headers_of(SecurityHeaders()) == API_DEFAULTS


def test_hsts_only_over_https() -> None:
    assert headers_of(SecurityHeaders(), https=True) == {**API_DEFAULTS, "Strict-Transport-Security": HSTS}
    assert "Strict-Transport-Security" not in headers_of(SecurityHeaders(), https=False)
    assert "Strict-Transport-Security" not in headers_of(SecurityHeaders(strict_transport_security=None), https=True)


def test_no_store_only_for_authenticated_requests() -> None:
    assert headers_of(SecurityHeaders(), authenticated=True)["Cache-Control"] == "no-store"
    assert "Cache-Control" not in headers_of(SecurityHeaders())
    assert "Cache-Control" not in headers_of(SecurityHeaders(no_store_when_authenticated=False), authenticated=True)


def test_html_responses_get_the_html_policy_with_the_nonce_and_are_not_stored() -> None:
    headers = headers_of(SecurityHeaders(html_policy=HTML_POLICY), html=True, nonce="abc")
    assert headers["Content-Security-Policy"] == HTML_POLICY.render("abc")
    assert "'nonce-abc'" in headers["Content-Security-Policy"]
    assert "Content-Security-Policy-Report-Only" not in headers
    assert headers["Cache-Control"] == "no-store"  # one visitor's nonce
    assert SecurityHeaders(html_policy=HTML_POLICY).html_uses_nonce


def test_by_default_html_responses_get_no_policy() -> None:
    # An existing app's pages (FastAPI's /docs, Django's admin) load scripts a default policy would block.
    headers = headers_of(SecurityHeaders(), html=True, nonce="abc")
    assert "Content-Security-Policy" not in headers
    assert "Cache-Control" not in headers
    assert headers["X-Frame-Options"] == "DENY"
    assert not SecurityHeaders().html_uses_nonce


def test_an_enforced_and_a_report_only_policy_side_by_side_both_reporting() -> None:
    policy = SecurityHeaders(
        html_policy=CSP(default_src=["'self'"]),
        html_report_only=CSP(script_src=[CSP.NONCE]),
        report_path="/csp-reports",
    )
    headers = headers_of(policy, html=True, nonce="n")
    assert headers["Content-Security-Policy"] == "default-src 'self'; report-uri /csp-reports"
    assert headers["Content-Security-Policy-Report-Only"] == "script-src 'nonce-n'; report-uri /csp-reports"
    assert headers_of(policy)["Content-Security-Policy"] == API_DEFAULTS["Content-Security-Policy"]  # not HTML


def test_no_html_policy_no_csp_on_html() -> None:
    policy = SecurityHeaders(html_policy=None)
    assert not policy.html_uses_nonce
    assert "Content-Security-Policy" not in headers_of(policy, html=True)


def test_each_default_can_be_changed_or_removed() -> None:
    policy = SecurityHeaders(
        referrer_policy="same-origin",
        frame_options=None,
        content_security_policy=None,
        permissions_policy=None,
        cross_origin_resource_policy="cross-origin",
    )
    headers = headers_of(policy)
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert not {"X-Frame-Options", "Content-Security-Policy", "Permissions-Policy"} & set(headers)


def test_route_overrides_change_remove_and_add() -> None:
    overrides = route_overrides(
        frame_options=None,
        referrer_policy="same-origin",
        cache_control="public, max-age=60",
        content_security_policy_report_only=CSP(default_src=["'self'"]),
    )
    headers = headers_of(SecurityHeaders(), overrides=overrides)
    assert "X-Frame-Options" not in headers
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "public, max-age=60"
    assert headers["Content-Security-Policy-Report-Only"] == "default-src 'self'"
    assert headers["X-Content-Type-Options"] == "nosniff"  # the rest as they were


def test_a_route_override_replaces_no_store_when_authenticated() -> None:
    headers = headers_of(SecurityHeaders(), authenticated=True, overrides=route_overrides(cache_control="private"))
    assert headers["Cache-Control"] == "private"


def test_a_route_policy_with_the_nonce_gets_the_request_nonce_on_html() -> None:
    overrides = route_overrides(content_security_policy=CSP(script_src=[CSP.NONCE]))
    assert overrides_use_nonce(overrides)
    assert not overrides_use_nonce(route_overrides(frame_options=None))
    assert not overrides_use_nonce(None)
    assert headers_of(SecurityHeaders(), html=True, nonce="n1", overrides=overrides)["Content-Security-Policy"] == (
        "script-src 'nonce-n1'"
    )
    assert headers_of(SecurityHeaders(), overrides=overrides)["Content-Security-Policy"] == "script-src"


def test_a_route_hsts_override_is_not_sent_over_plain_http() -> None:
    overrides = route_overrides(strict_transport_security="max-age=60")
    assert "Strict-Transport-Security" not in headers_of(SecurityHeaders(), overrides=overrides)
    assert headers_of(SecurityHeaders(), https=True, overrides=overrides)["Strict-Transport-Security"] == "max-age=60"
    off = SecurityHeaders(strict_transport_security=None)
    assert headers_of(off, https=True, overrides=overrides)["Strict-Transport-Security"] == "max-age=60"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"x_frame": "DENY"}, "not a security header"),
        ({"frame_options": "DENY\r\nSet-Cookie: a=b"}, "header value"),
        ({"referrer_policy": ""}, "header value"),
        ({"referrer_policy": 3}, "header value"),
    ],
)
def test_route_overrides_refuse_what_is_no_header(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        route_overrides(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"frame_options": "DENY\n"}, "header value"),
        ({"referrer_policy": "ünicode"}, "header value"),
        ({"content_security_policy": "default-src 'none'"}, "not a string"),
        ({"html_policy": 42}, "CSP"),
        ({"report_path": "csp-reports"}, "report_path"),
        ({"report_path": "/a b"}, "report_path"),
        ({"report_max_bytes": 0}, "report_max_bytes"),
        ({"reports_per_minute": True}, "reports_per_minute"),
        ({"no_store_when_authenticated": "yes"}, "True or False"),
    ],
)
def test_bad_values_are_configuration_errors(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SecurityHeaders(**arguments)  # type: ignore[arg-type]


def test_from_setting_forms() -> None:
    assert SecurityHeaders.from_setting(True) == SecurityHeaders()
    assert SecurityHeaders.from_setting(None) is None
    assert SecurityHeaders.from_setting(False) is None
    given = SecurityHeaders(frame_options=None)
    assert SecurityHeaders.from_setting(given) is given
    from_mapping = SecurityHeaders.from_setting({"FRAME_OPTIONS": None, "html_policy": {"default-src": ["'self'"]}})
    assert from_mapping == SecurityHeaders(frame_options=None, html_policy=CSP(default_src=["'self'"]))
    with pytest.raises(ConfigurationError, match="SECURITY_HEADERS"):
        SecurityHeaders.from_setting({"no_such_header": "x"})
    with pytest.raises(ConfigurationError, match="SECURITY_HEADERS"):
        SecurityHeaders.from_setting("on")


def test_a_report_path_reaches_the_html_policies_only() -> None:
    policy = SecurityHeaders(html_policy=HTML_POLICY, report_path="/csp")
    assert policy.html_policy is not None
    assert policy.html_policy.directives["report-uri"] == ("/csp",)
    assert "report-uri" not in headers_of(policy)["Content-Security-Policy"]
