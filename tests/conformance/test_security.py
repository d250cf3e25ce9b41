"""CORS and security headers on the wire: the same headers on every status, on all seven targets.

The examples allow the origin in ``BACKENDKIT_EXAMPLE_CORS_ORIGINS`` (set for the whole
conformance session in conftest.py) with credentials, and send backendkit's default
security headers with a CSP report endpoint. Every response the applications send, from a
200 to the 500 of an escaped exception, carries the same CORS and security headers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from backendkit.auth import HMACKey, issue
from examples import _auth
from examples._tasks import MAX_BODY_SIZE
from tests.conformance.targets import ALLOWED_ORIGIN, Target
from tests.support.net import Reply

EXPOSED = (
    "Deprecation, ETag, Idempotent-Replayed, Last-Modified, Link, Location, RateLimit, RateLimit-Policy, "
    "Retry-After, Sunset, WWW-Authenticate, X-Request-ID"
)
SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
    ),
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def _token(**claims: Any) -> str:
    return issue(
        HMACKey(_auth.secret()),
        "user-7",
        issuer=_auth.ISSUER,
        audience=_auth.AUDIENCE,
        claims={"roles": ["viewer"], "scope": "", **claims},
    )


def _client() -> str:
    n = uuid.uuid4().int  # a fresh client per call: the examples key limits by the forwarded address
    return f"2001:db8:{n % 65536:x}:{(n >> 16) % 65536:x}::7"


def _limited(target: Target, headers: dict[str, str]) -> Reply:
    forwarded = {**headers, "X-Forwarded-For": _client()}
    for _ in range(5):
        assert target.request("GET", "/limited", headers=forwarded).status == 200
    return target.request("GET", "/limited", headers=forwarded)


def _replayed(target: Target, headers: dict[str, str]) -> Reply:
    key = uuid.uuid4().hex
    body = json.dumps({"title": f"replayed {key}"}).encode()
    first = target.request("POST", "/tasks", headers={**headers, "Idempotency-Key": key}, body=body)
    assert first.status == 201
    return target.request("POST", "/tasks", headers={**headers, "Idempotency-Key": key}, body=body)


TOO_LONG = b"x" * MAX_BODY_SIZE  # (the examples' limit: 1 MiB)
Case = Callable[[Target, dict[str, str]], Reply]
CASES: dict[str, tuple[int, Case]] = {
    "200": (200, lambda t, h: t.request("GET", "/tasks", headers=h)),
    "201 replayed": (201, _replayed),
    "204": (204, lambda t, h: t.request("DELETE", "/tasks/999999", headers=h)),
    "probe": (200, lambda t, h: t.request("GET", "/livez", headers=h)),
    "404 routing": (404, lambda t, h: t.request("GET", "/no/such/route", headers=h)),
    "405": (405, lambda t, h: t.request("PUT", "/tasks", headers=h, body=b"{}")),
    "401": (401, lambda t, h: t.request("GET", "/me", headers=h)),
    "403": (403, lambda t, h: t.request("GET", "/admin/audit", headers={**h, "Authorization": f"Bearer {_token()}"})),
    "413": (413, lambda t, h: t.request("POST", "/tasks", headers=h, body=b'{"title": "' + TOO_LONG + b'"}')),
    "415": (  # (declared: FastAPI before 0.132 reads a body without Content-Type as JSON)
        415,
        lambda t, h: t.request("POST", "/tasks", headers={**h, "Content-Type": "text/plain"}, body=b"{}"),
    ),
    "422": (422, lambda t, h: t.request("POST", "/tasks", headers=h, body=b'{"title": 5}')),
    "429": (429, _limited),
    "500": (500, lambda t, h: t.request("GET", "/boom", headers=h)),
}


def _names(listed: str) -> list[str]:
    return sorted(name.strip() for name in listed.split(","))


def _security_of(reply: Reply) -> dict[str, str]:
    return {name: reply.headers.get(name, "") for name in SECURITY}


@pytest.mark.parametrize("case", list(CASES))
def test_an_allowed_origin_can_read_every_status(target: Target, case: str) -> None:
    status, send = CASES[case]
    reply = send(target, {"Origin": ALLOWED_ORIGIN})
    assert reply.status == status, (case, reply)
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert reply.headers["access-control-allow-credentials"] == "true"
    # (a page with a next one has pagination's "Link" exposed first: the same names, in another order)
    assert _names(reply.headers["access-control-expose-headers"]) == _names(EXPOSED)
    assert "Origin" in [part.strip() for part in reply.headers["vary"].split(",")]
    assert _security_of(reply) == SECURITY
    assert reply.headers["x-request-id"]
    if reply.status == 401 or (reply.status == 403 and "authorization" in reply.headers.get("vary", "").lower()):
        assert reply.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("case", list(CASES))
def test_another_origin_gets_no_cors_headers_but_the_same_security_headers(target: Target, case: str) -> None:
    status, send = CASES[case]
    reply = send(target, {"Origin": "https://app.example.com.evil.test"})
    assert reply.status == status, (case, reply)
    # (pagination's own "Access-Control-Expose-Headers: Link" may stay: without an allowed origin it opens nothing)
    assert "access-control-allow-origin" not in reply.headers
    assert "access-control-allow-credentials" not in reply.headers
    assert "Origin" in [part.strip() for part in reply.headers["vary"].split(",")]
    assert _security_of(reply) == SECURITY


def test_authenticated_responses_are_not_stored(target: Target) -> None:
    reply = target.request("GET", "/me", headers={"Authorization": f"Bearer {_token()}"})
    assert reply.status == 200
    assert reply.headers["cache-control"] == "no-store"
    assert "cache-control" not in target.request("GET", "/tasks").headers


def test_a_preflight_is_answered_before_authentication_and_rate_limits(target: Target) -> None:
    headers = {
        "Origin": ALLOWED_ORIGIN,
        "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization, idempotency-key, content-type",
        "X-Forwarded-For": _client(),
    }
    for path in ("/me", "/tasks/1", "/limited", "/no/such/route"):
        for _ in range(6):  # more than /limited allows: preflights are not counted
            reply = target.request("OPTIONS", path, headers=headers)
            assert reply.status == 204, (path, reply)
            assert reply.body == b""
            assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
            assert reply.headers["access-control-allow-credentials"] == "true"
            assert reply.headers["access-control-allow-methods"] == "GET, HEAD, POST, PUT, PATCH, DELETE"
            assert reply.headers["access-control-allow-headers"] == "authorization, idempotency-key, content-type"
            assert reply.headers["access-control-max-age"] == "600"
            assert reply.headers["vary"] == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
            assert _security_of(reply) == SECURITY
            assert "ratelimit" not in reply.headers
    after = target.request("GET", "/limited", headers={"X-Forwarded-For": headers["X-Forwarded-For"]})
    assert after.status == 200
    assert re.search(r";r=4;", after.headers["ratelimit"])


@pytest.mark.parametrize(
    ("origin", "method", "requested", "reason"),
    [
        ("https://example.com.evil.test", "PUT", "", "the origin 'https://example.com.evil.test' is not allowed"),
        ("null", "GET", "", "the origin 'null' is not allowed"),
        (ALLOWED_ORIGIN, "TRACE", "", "the method 'TRACE' is not allowed"),
        (ALLOWED_ORIGIN, "PUT", "x-secret-header", "the request header 'x-secret-header' is not allowed"),
    ],
)
def test_a_refused_preflight_is_a_403_without_allow_headers(
    target: Target, origin: str, method: str, requested: str, reason: str
) -> None:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if requested:
        headers["Access-Control-Request-Headers"] = requested
    reply = target.request("OPTIONS", "/tasks", headers=headers)
    assert reply.status == 403
    assert json.loads(reply.body) == {
        "error": {
            "code": "CORS_REFUSED",
            "message": f"CORS preflight refused: {reason}.",
            "request_id": reply.headers["x-request-id"],
        }
    }
    assert not [name for name in reply.headers if name.startswith("access-control-")]
    assert reply.headers["vary"] == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def test_the_html_page_carries_its_nonce_in_its_policy(target: Target) -> None:
    first, second = target.request("GET", "/"), target.request("GET", "/")
    nonces = []
    for reply in (first, second):
        assert reply.status == 200
        assert reply.headers["content-type"].startswith("text/html")
        policy = reply.headers["content-security-policy"]
        nonce = re.search(r"'nonce-([A-Za-z0-9_-]{22})'", policy)
        assert nonce is not None, policy
        assert f'<script nonce="{nonce.group(1)}">'.encode() in reply.body
        assert policy.endswith("; report-uri /csp-report")
        assert reply.headers["cache-control"] == "no-store"  # one visitor's nonce: never from a cache
        assert policy.startswith("default-src 'self'; script-src 'nonce-")
        nonces.append(nonce.group(1))
    assert nonces[0] != nonces[1]  # one per response


def test_a_csp_report_is_taken_and_a_bad_one_refused(target: Target) -> None:
    report = {"csp-report": {"document-uri": "http://127.0.0.1/?token=s3cret", "blocked-uri": "inline"}}
    headers = {"Content-Type": "application/csp-report", "X-Forwarded-For": _client()}
    taken = target.request("POST", "/csp-report", headers=headers, body=json.dumps(report).encode(), json_type=False)
    assert (taken.status, taken.body) == (204, b"")
    assert _security_of(taken) == SECURITY
    bad = target.request("POST", "/csp-report", headers=headers, body=b"{not json", json_type=False)
    assert bad.status == 400
    assert json.loads(bad.body)["error"]["code"] == "MALFORMED_JSON"
    typed = target.request("POST", "/csp-report", headers={"Content-Type": "text/plain"}, body=b"{}", json_type=False)
    assert typed.status == 415


def test_the_report_endpoint_takes_only_post(target: Target) -> None:
    reply = target.request("GET", "/csp-report")
    assert reply.status == 405
    assert reply.headers["allow"] == "POST"
    assert json.loads(reply.body)["error"]["code"] == "METHOD_NOT_ALLOWED"
