"""CSP violation reports: both shapes parsed, redacted, bounded; the per-client budget."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import MalformedJSON, UnsupportedMediaType
from backendkit.security import parse_reports, redact_url
from backendkit.security._core.reports import MAX_FIELD, MAX_REPORTS, ReportBudget

LEGACY = {
    "csp-report": {
        "document-uri": "https://user:pw@app.example.com/account?token=s3cret#frag",
        "referrer": "https://search.test/?q=my+name",
        "blocked-uri": "https://cdn.evil.test/x.js?session=abc",
        "effective-directive": "script-src-elem",
        "violated-directive": "script-src",
        "original-policy": "script-src 'nonce-abc'",
        "disposition": "enforce",
        "source-file": "https://app.example.com/app.js?v=1",
        "line-number": 12,
        "column-number": 3,
        "status-code": 200,
        "script-sample": "alert(document.cookie)",
    }
}
REPORTING_API = [
    {
        "type": "csp-violation",
        "age": 10,
        "url": "https://app.example.com/account?token=s3cret",
        "body": {
            "documentURL": "https://app.example.com/account?token=s3cret",
            "blockedURL": "inline",
            "effectiveDirective": "script-src-elem",
            "disposition": "report",
            "sample": "console.log(secret)",
            "lineNumber": 7,
            "statusCode": 200,
        },
    },
    {"type": "deprecation", "body": {"id": "x"}},
]


def test_the_older_shape_redacted_and_without_the_sample() -> None:
    (violation,) = parse_reports(json.dumps(LEGACY).encode(), "application/csp-report")
    assert violation == {
        "document_uri": "https://app.example.com/account",
        "referrer": "https://search.test/",
        "blocked_uri": "https://cdn.evil.test/x.js",
        "directive": "script-src-elem",
        "disposition": "enforce",
        "source_file": "https://app.example.com/app.js",
        "line": 12,
        "column": 3,
        "status_code": 200,
    }


def test_the_reporting_api_shape_redacted_and_other_report_types_left_out() -> None:
    (violation,) = parse_reports(json.dumps(REPORTING_API).encode(), "application/reports+json; charset=utf-8")
    assert violation == {
        "document_uri": "https://app.example.com/account",
        "blocked_uri": "inline",
        "directive": "script-src-elem",
        "disposition": "report",
        "line": 7,
        "status_code": 200,
    }
    assert "secret" not in json.dumps(violation)


def test_each_format_is_taken_under_its_own_media_type_only() -> None:
    # What the OpenAPI document says the endpoint takes, and what browsers send: nothing else.
    legacy, reporting = json.dumps(LEGACY).encode(), json.dumps(REPORTING_API).encode()
    assert parse_reports(legacy, "Application/CSP-Report; charset=utf-8")
    assert parse_reports(reporting, "application/reports+json")
    with pytest.raises(UnsupportedMediaType):
        parse_reports(legacy, "application/json")
    with pytest.raises(MalformedJSON):
        parse_reports(legacy, "application/reports+json")
    with pytest.raises(MalformedJSON):
        parse_reports(reporting, "application/csp-report")


def test_json_without_its_non_standard_constants() -> None:
    with pytest.raises(MalformedJSON):
        parse_reports(b'{"csp-report": {"line-number": NaN}}', "application/csp-report")
    with pytest.raises(MalformedJSON):
        parse_reports(b'[{"type": "csp-violation", "body": {"lineNumber": -Infinity}}]', "application/reports+json")


def test_at_most_max_reports_from_one_body() -> None:
    many = [REPORTING_API[0]] * (MAX_REPORTS * 5)
    assert len(parse_reports(json.dumps(many).encode(), "application/reports+json")) == MAX_REPORTS


def test_fields_are_bounded_and_odd_values_skipped() -> None:
    body = {
        "csp-report": {
            "document-uri": "https://a.test/" + "p" * 5000,
            "effective-directive": "d" * 5000,
            "line-number": True,
            "column-number": [1],
            "blocked-uri": {"x": 1},
            "disposition": None,
        }
    }
    (violation,) = parse_reports(json.dumps(body).encode(), "application/csp-report")
    assert len(violation["document_uri"]) == MAX_FIELD
    assert len(violation["directive"]) == MAX_FIELD
    assert set(violation) == {"document_uri", "directive"}


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/x-www-form-urlencoded"])
def test_other_media_types_are_unsupported(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType):
        parse_reports(json.dumps(LEGACY).encode(), content_type)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"\xff\xfe",
        b"[" * 100_000,
        b'"a string"',
        b'{"something": "else"}',
        b'{"csp-report": "not an object"}',
        b'[{"type": "csp-violation", "body": []}]',
    ],
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    with pytest.raises(MalformedJSON):
        parse_reports(body, "application/csp-report")


def test_a_list_without_violations_is_nothing_to_log() -> None:
    assert parse_reports(b"[]", "application/reports+json") == []
    assert parse_reports(b'[{"type": "deprecation", "body": {}}]', "application/reports+json") == []
    assert parse_reports(b'{"csp-report": {"unknown": 1}}', "application/csp-report") == []


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://user:pw@app.example.com/a/b?token=s3cret#x", "https://app.example.com/a/b"),
        ("https://app.example.com#access_token=abc", "https://app.example.com"),
        ("https://app.example.com/p@x?y", "https://app.example.com/p@x"),
        ("//user:pw@cdn.test/x.js?k=1", "//cdn.test/x.js"),
        ("inline", "inline"),
        ("eval", "eval"),
        ("wasm-eval", "wasm-eval"),
        ("data:text/javascript,alert(1)", "data"),
        ("blob:https://app.example.com/uuid?x", "blob:https://app.example.com/uuid"),
        ("about:blank", "about"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


SECRET = st.from_regex(r"[A-Za-z0-9]{8,16}", fullmatch=True)


@given(SECRET, SECRET, SECRET, SECRET, st.sampled_from(["https://", "http://", "//", "blob:https://"]))
def test_no_query_fragment_or_credentials_survive(
    user: str, password: str, query: str, fragment: str, head: str
) -> None:
    url = f"{head}{user}:{password}@host.test/path?token={query}#{fragment}"
    redacted = redact_url(url)
    for secret in (user, password, query, fragment):
        assert secret not in redacted
    assert "host.test/path" in redacted


def test_the_budget_refills_over_time_per_client() -> None:
    budget = ReportBudget(per_minute=3)
    assert [budget.take("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert budget.take("b", 0.0)  # another client has its own
    assert not budget.take("a", 10.0)  # half a report back: not yet
    assert budget.take("a", 20.0)  # one back after 20 s
    assert not budget.take("a", 20.0)
    assert [budget.take("a", 1000.0) for _ in range(4)] == [True, True, True, False]  # never above per_minute


def test_the_budget_forgets_the_least_recent_clients_first() -> None:
    budget = ReportBudget(per_minute=1, clients=3)
    for client in ("a", "b", "c"):
        assert budget.take(client, 0.0)
    assert not budget.take("a", 0.0)  # "a" is now the most recent
    assert budget.take("d", 0.0)  # "b" is forgotten
    assert len(budget._buckets) == 3
    assert budget.take("b", 0.0)  # forgotten: a full budget again
    assert not budget.take("a", 0.0)  # remembered, still empty
    for index in range(10_000):
        budget.take(f"client-{index}", 1.0)
    assert len(budget._buckets) == 3
