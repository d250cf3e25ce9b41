"""The same requests get the same CORS and security headers, statuses and bodies on every adapter.

Flask, Django, Starlette and FastAPI each apply ``backendkit.security`` in their own
hooks; what a browser sees must not depend on which one serves it. Each case is sent
to the four apps of ``tests.adapters.apps`` built with the same settings, and what
matters on the wire (the status, the CORS and security headers, the body without its
request id) is compared with the written-out expectation and across adapters.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.adapters.apps import Reply, built
from tests.support.security import (
    API_HEADERS,
    CORS_HEADERS,
    CORS_SETTING,
    ORIGIN,
    PREFLIGHT_HEADERS,
    REPORT_PATH,
    csp_report,
    security_setting,
)

ADAPTERS = ["flask", "django", "starlette", "fastapi"]
SETTINGS: dict[str, Any] = {"cors": CORS_SETTING, "security_headers": security_setting(), "max_body_size": 10}
ON_THE_WIRE = ("access-control-", "vary", "content-type", "cache-control", "strict-transport-security", "retry-after")
ASKING = {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization"}
REPORT = {"Content-Type": "application/csp-report"}
CASES: dict[str, tuple[str, str, dict[str, str], bytes]] = {
    "preflight": ("OPTIONS", "/ok", ASKING, b""),
    "preflight of no route": ("OPTIONS", "/missing", ASKING, b""),
    "refused preflight": ("OPTIONS", "/ok", {**ASKING, "Origin": "https://evil.test"}, b""),
    "200": ("GET", "/ok", {"Origin": ORIGIN}, b""),
    "404": ("GET", "/missing", {"Origin": ORIGIN}, b""),
    "413": ("POST", "/echo", {"Origin": ORIGIN}, b"x" * 100),
    "500": ("GET", "/boom", {"Origin": ORIGIN}, b""),
    "other origin": ("GET", "/ok", {"Origin": "https://evil.test"}, b""),
    "with credentials": ("GET", "/ok", {"Origin": ORIGIN, "Authorization": "Bearer anything"}, b""),
    "report": ("POST", REPORT_PATH, REPORT, csp_report()),
    "bad report": ("POST", REPORT_PATH, {"Content-Type": "text/plain"}, csp_report()),
}


def _seen(reply: Reply) -> dict[str, Any]:
    headers = {k: v for k, v in reply.headers.items() if k.startswith(ON_THE_WIRE) or k in API_HEADERS}
    body = json.loads(reply.body) if reply.body else None
    if isinstance(body, dict) and "error" in body:
        body["error"].pop("request_id")
    return {"status": reply.status, "headers": headers, "body": body}


@pytest.fixture(scope="module")
def seen() -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for framework in ADAPTERS:
        with built(framework, SETTINGS) as send:
            out[framework] = {name: _seen(send(*case)) for name, case in CASES.items()}
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_every_adapter_answers_alike(seen: dict[str, dict[str, dict[str, Any]]], case: str) -> None:
    flask = seen["flask"][case]
    for framework in ADAPTERS[1:]:
        assert seen[framework][case] == flask, framework


def test_what_they_answer_is_what_the_policy_says(seen: dict[str, dict[str, dict[str, Any]]]) -> None:
    answers = seen["flask"]
    preflight = answers["preflight"]
    assert (preflight["status"], preflight["body"]) == (204, None)
    assert preflight["headers"] == {
        **PREFLIGHT_HEADERS,
        "access-control-allow-headers": "authorization",
        "vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        **API_HEADERS,
    }
    assert answers["preflight of no route"] == preflight
    refused = answers["refused preflight"]
    assert (refused["status"], refused["body"]["error"]["code"]) == (403, "CORS_REFUSED")
    assert not [name for name in refused["headers"] if name.startswith("access-control-")]
    for case, status in (("200", 200), ("404", 404), ("413", 413), ("500", 500)):
        answer = answers[case]
        assert answer["status"] == status
        assert answer["headers"] == {
            "content-type": "application/json",
            **CORS_HEADERS,
            "vary": "Origin",
            **API_HEADERS,
        }, case
    assert answers["other origin"]["headers"] == {"content-type": "application/json", "vary": "Origin", **API_HEADERS}
    assert answers["with credentials"]["headers"]["cache-control"] == "no-store"
    assert (answers["report"]["status"], answers["report"]["headers"]) == (204, {"vary": "Origin", **API_HEADERS})
    assert answers["bad report"]["status"] == 415


@pytest.mark.parametrize("framework", ADAPTERS)
def test_security_headers_none_sends_none(framework: str) -> None:
    # A None keyword is usually "not given"; for this key it is the choice of no security headers.
    with built(framework, {"security_headers": None}) as send:
        reply = send("GET", "/ok", {}, b"")
    assert reply.status == 200
    assert not set(reply.headers) & set(API_HEADERS)


@pytest.mark.parametrize("framework", ADAPTERS)
def test_exposed_headers_add_to_what_the_response_exposed(framework: str) -> None:
    with built(framework, {"cors": {"allow_origins": [ORIGIN], "expose_headers": ["X-Total"]}}) as send:
        reply = send("GET", "/exposing", {"Origin": ORIGIN}, b"")
    assert reply.status == 200
    assert reply.headers["access-control-expose-headers"] == "Link, X-Total, X-Request-ID"


@pytest.mark.parametrize("framework", ADAPTERS)
def test_hsts_when_the_client_reached_the_first_trusted_proxy_over_https(framework: str) -> None:
    # A CDN took the client's HTTPS; the balancer behind it spoke plain HTTP to the CDN and to us.
    settings = {"trusted_proxies": 2}  # two hops (Starlette's test client has no address to trust)
    chain = {"X-Forwarded-For": "203.0.113.9, 10.0.0.7"}
    with built(framework, settings) as send:
        cdn = send("GET", "/ok", {**chain, "X-Forwarded-Proto": "https, http"}, b"")
        plain = send("GET", "/ok", {**chain, "X-Forwarded-Proto": "http, https"}, b"")
    assert cdn.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "strict-transport-security" not in plain.headers
