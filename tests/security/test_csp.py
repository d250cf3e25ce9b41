"""The CSP builder: rendering with and without a nonce, and the policies it refuses."""

from __future__ import annotations

import pytest

from backendkit.errors import ConfigurationError
from backendkit.security import API_POLICY, CSP, HTML_POLICY


def test_render_puts_the_nonce_where_the_placeholder_is() -> None:
    policy = CSP(default_src=["'self'"], script_src=[CSP.NONCE, "'strict-dynamic'"], style_src=["'self'", CSP.NONCE])
    assert policy.uses_nonce
    assert policy.render("n0nce") == (
        "default-src 'self'; script-src 'nonce-n0nce' 'strict-dynamic'; style-src 'self' 'nonce-n0nce'"
    )


def test_render_without_a_nonce_drops_the_placeholder_and_keeps_the_header_well_formed() -> None:
    policy = CSP(default_src=["'self'"], script_src=[CSP.NONCE], style_src=["'self'", CSP.NONCE, "https://cdn.test"])
    assert policy.render(None) == "default-src 'self'; script-src; style-src 'self' https://cdn.test"
    assert "nonce" not in HTML_POLICY.render(None)


def test_a_policy_without_the_placeholder_renders_the_same_whatever_the_nonce() -> None:
    assert not API_POLICY.uses_nonce
    assert API_POLICY.render(None) == API_POLICY.render("x") == "default-src 'none'; frame-ancestors 'none'"


def test_directives_by_mapping_and_keyword_and_sourceless_ones() -> None:
    policy = CSP({"default-src": ["'none'"], "Report-To": ["csp"]}, upgrade_insecure_requests=[])
    assert policy.render(None) == "default-src 'none'; report-to csp; upgrade-insecure-requests"
    assert policy.directives["upgrade-insecure-requests"] == ()


def test_equal_policies_compare_and_hash_equal() -> None:
    assert CSP(default_src=["'none'"]) == CSP({"default-src": ("'none'",)})
    assert hash(CSP(default_src=["'none'"])) == hash(CSP({"default-src": ["'none'"]}))
    assert CSP(default_src=["'none'"]) != CSP(default_src=["'self'"])
    assert CSP(default_src=["'none'"]) != "default-src 'none'"
    assert "default-src" in repr(CSP(default_src=["'none'"]))


@pytest.mark.parametrize(
    ("directives", "named", "message"),
    [
        (None, {}, "at least one directive"),
        ({"script src": ["'self'"]}, {}, "directive name"),
        ({"": ["'self'"]}, {}, "directive name"),
        ({"scrípt-src": ["'self'"]}, {}, "directive name"),
        ({1: ["'self'"]}, {}, "directive name"),
        (None, {"script_src": "'self'"}, "list of strings"),
        (None, {"script_src": None}, "list of strings"),
        (None, {"script_src": ["'self'; object-src *"]}, "not a CSP source"),
        (None, {"script_src": ["a,b"]}, "not a CSP source"),
        (None, {"script_src": ["'self' https:"]}, "not a CSP source"),
        (None, {"script_src": ["a\tb"]}, "not a CSP source"),
        (None, {"script_src": ["https://a.test\r\nX-Evil: 1"]}, "not a CSP source"),
        (None, {"script_src": ["https://a.test\x00"]}, "not a CSP source"),
        (None, {"script_src": ["https://é.test"]}, "not a CSP source"),
        (None, {"script_src": ['"self"']}, "not a CSP source"),
        (None, {"script_src": [""]}, "not a CSP source"),
        (None, {"script_src": [None]}, "not a CSP source"),
    ],
)
def test_what_would_break_the_header_is_refused(
    directives: dict[object, object] | None, named: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CSP(directives, **named)  # type: ignore[arg-type]


def test_with_report_adds_a_report_uri_once() -> None:
    policy = CSP(default_src=["'self'"]).with_report("/csp-reports")
    assert policy.render(None) == "default-src 'self'; report-uri /csp-reports"
    assert policy.with_report("/elsewhere") is policy
    with_nonce = CSP(script_src=[CSP.NONCE]).with_report("/r")
    assert with_nonce.render("abc") == "script-src 'nonce-abc'; report-uri /r"
    with pytest.raises(ConfigurationError):
        CSP(default_src=["'self'"]).with_report("/r; script-src *")
