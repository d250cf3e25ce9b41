"""Django: CORS and security headers on every response, preflights and CSP reports answered first (sync and async)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client, override_settings

from backendkit.django._state import get_state
from backendkit.django.security import security_headers
from backendkit.errors import ConfigurationError
from backendkit.idempotency import Idempotency, MemoryStore
from backendkit.ratelimit import Limit
from tests.auth.apps import verifier
from tests.auth.keys import token
from tests.django.security_urls import PAGE
from tests.support.security import (
    API_HEADERS,
    HSTS,
    NONCE_IN_PAGE,
    ORIGIN,
    PREFLIGHT_HEADERS,
    REPORT_PATH,
    assert_cors_and_security,
    csp_report,
    lower,
    nonce_of_policy,
    vary,
)

FROM_ORIGIN = {"Origin": ORIGIN}
URLS = "tests.django.security_urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {"context_processors": ["backendkit.django.security.csp_nonce"]},
    }
]
PIECES = {
    "RATE_LIMITS": ["backendkit.django.ratelimit.RateLimitMiddleware"],
    "IDEMPOTENCY": ["backendkit.django.auth.AuthMiddleware", "backendkit.django.idempotency.IdempotencyMiddleware"],
}


@contextmanager
def configured(**changes: Any) -> Iterator[None]:
    """The test URLconf with CORS and the security headers named by dotted path, and ``changes``."""
    backendkit: dict[str, Any] = {
        "CORS": f"{URLS}.CORS_POLICY",
        "SECURITY_HEADERS": f"{URLS}.HEADERS",
        "MAX_BODY_SIZE": 64,
        "AUTH": verifier(),
    }
    backendkit.update(changes)
    pieces = [m for name, added in PIECES.items() if name in changes for m in added]
    middleware = ["backendkit.django.ErrorMiddleware", *pieces, f"{URLS}.DenyMiddleware"]
    with override_settings(ROOT_URLCONF=URLS, MIDDLEWARE=middleware, BACKENDKIT=backendkit, TEMPLATES=TEMPLATES):
        get_state()
        yield


@pytest.fixture
def client() -> Iterator[Client]:
    with configured():
        yield Client(raise_request_exception=False)


def preflight(client: Client, path: str, origin: str = ORIGIN, method: str = "PUT", asks: str | None = None) -> Any:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if asks is not None:
        sent["Access-Control-Request-Headers"] = asks
    return client.generic("OPTIONS", path, headers=sent)


def headers_of(response: Any) -> dict[str, str]:
    return lower(dict(response.items()))


# Preflights


@pytest.mark.parametrize("path", ["/ok", "/me", "/nowhere", "/pay", "/only-get", "/denied-by-middleware"])
def test_an_allowed_preflight_is_a_204_on_any_path(client: Client, path: str) -> None:
    reply = preflight(client, path, asks="authorization, idempotency-key, content-type")
    headers = headers_of(reply)
    assert (reply.status_code, reply.content) == (204, b"")
    for name, value in PREFLIGHT_HEADERS.items():
        assert headers[name] == value
    assert headers["access-control-allow-headers"] == "authorization, idempotency-key, content-type"
    assert vary(headers) >= {"origin", "access-control-request-method", "access-control-request-headers"}
    assert "content-type" not in headers
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
    client: Client, origin: str, method: str, reason: str
) -> None:
    for path in ("/ok", "/nowhere"):
        reply = preflight(client, path, origin=origin, method=method)
        headers = headers_of(reply)
        assert reply.status_code == 403
        assert reply.json()["error"] == {
            "code": "CORS_REFUSED",
            "message": f"CORS preflight refused: {reason}.",
            "request_id": headers["x-request-id"],
        }
        assert not [name for name in headers if name.startswith("access-control-allow")]
        assert "origin" in vary(headers)
        assert headers["content-security-policy"] == API_HEADERS["content-security-policy"]


def test_preflights_are_not_counted_by_the_rate_limit_nor_refused_by_authentication() -> None:
    with configured(RATE_LIMITS=Limit("2/minute")):
        client = Client(raise_request_exception=False)
        for _ in range(5):
            assert preflight(client, "/me", asks="authorization").status_code == 204
        first = client.get("/ok", headers=FROM_ORIGIN)
        assert (first.status_code, first["RateLimit"].split(";r=")[1][0]) == (200, "1")
        assert client.get("/ok").status_code == 200
        refused = client.get("/ok", headers=FROM_ORIGIN)
        assert refused.status_code == 429
        assert_cors_and_security(headers_of(refused))


def test_preflights_do_not_start_an_idempotent_request() -> None:
    with configured(IDEMPOTENCY=Idempotency(MemoryStore(), required=True)):
        client = Client(raise_request_exception=False)
        assert preflight(client, "/ok", method="POST", asks="idempotency-key").status_code == 204
        refused = client.post("/ok", headers=FROM_ORIGIN)
        assert refused.status_code == 400  # the key is required of a real request
        assert_cors_and_security(headers_of(refused))


def test_sync_and_async_stacks_answer_alike() -> None:
    async def go() -> list[Any]:
        client = AsyncClient(raise_request_exception=False)
        return [
            await client.options("/ok", headers={**FROM_ORIGIN, "Access-Control-Request-Method": "PUT"}),
            await client.options(
                "/ok", headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "PUT"}
            ),
            await client.get("/async-boom", headers=FROM_ORIGIN),
            await client.get("/nowhere", headers=FROM_ORIGIN),
            await client.post(REPORT_PATH, csp_report(), content_type="application/csp-report"),
            await client.get("/async-framed", headers=FROM_ORIGIN),
            await client.get("/page"),
        ]

    with configured():
        allowed, refused, boom, missing, report, framed, page = asyncio.run(go())
    assert (allowed.status_code, headers_of(allowed)["access-control-allow-origin"]) == (204, ORIGIN)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "CORS_REFUSED")
    for reply, status in ((boom, 500), (missing, 404)):
        assert reply.status_code == status
        assert_cors_and_security(headers_of(reply))
    assert report.status_code == 204
    assert (framed.status_code, framed["Content-Security-Policy"]) == (200, "default-src 'self'")
    found = NONCE_IN_PAGE.search(page.content.decode())
    assert found is not None
    assert nonce_of_policy(page["Content-Security-Policy"]) == found.group(1)


# Every response the application sends


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/ok", None, 200),
        ("POST", "/items", b'{"name": "a"}', 201),
        ("GET", "/nowhere", None, 404),
        ("POST", "/only-get", None, 405),
        ("GET", "/me", None, 401),
        ("GET", "/denied-by-middleware", None, 401),
        ("POST", "/echo", b"x" * 100, 413),
        ("POST", "/items", b'{"name": 1}', 422),
        ("POST", "/items", b"{", 400),
        ("GET", "/boom", None, 500),
        ("GET", "/livez", None, 200),
    ],
)
def test_every_status_carries_the_cors_and_security_headers(
    client: Client, method: str, path: str, body: bytes | None, status: int
) -> None:
    reply = client.generic(method, path, body or b"", content_type="application/json", headers=FROM_ORIGIN)
    assert reply.status_code == status
    headers = headers_of(reply)
    assert_cors_and_security(headers)
    if path != "/livez":  # (a probe says no-store itself)
        assert "cache-control" not in headers


def test_the_429_of_a_view_limit_carries_them(client: Client) -> None:
    assert client.get("/limited", headers=FROM_ORIGIN).status_code == 200
    refused = client.get("/limited", headers=FROM_ORIGIN)
    assert refused.status_code == 429
    headers = headers_of(refused)
    assert_cors_and_security(headers)
    assert {"ratelimit", "ratelimit-policy", "retry-after"} <= set(headers)


def test_an_idempotent_replay_carries_them_for_the_origin_that_asks(client: Client) -> None:
    key = {"Idempotency-Key": '"k-django"'}
    first = client.post("/pay", b"{}", content_type="application/json", headers=key)
    assert "access-control-allow-origin" not in headers_of(first)
    replay = client.post("/pay", b"{}", content_type="application/json", headers={**key, **FROM_ORIGIN})
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    assert_cors_and_security(headers_of(replay))


def test_a_disallowed_origin_gets_no_cors_headers_but_vary_and_the_security_headers(client: Client) -> None:
    for path in ("/ok", "/boom"):
        headers = headers_of(client.get(path, headers={"Origin": "https://evil.test"}))
        assert not [name for name in headers if name.startswith("access-control-")]
        assert "origin" in vary(headers)
        assert headers["x-frame-options"] == "DENY"


def test_a_security_header_the_view_sets_is_kept_a_cors_header_is_the_policys(client: Client) -> None:
    headers = headers_of(client.get("/own-frame-options", headers=FROM_ORIGIN))
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["access-control-allow-origin"] == ORIGIN


# HSTS and no-store


def test_hsts_only_over_https(client: Client) -> None:
    assert "strict-transport-security" not in headers_of(client.get("/ok"))
    assert headers_of(client.get("/ok", secure=True))["strict-transport-security"] == HSTS
    spoofed = client.get("/ok", headers={"X-Forwarded-Proto": "https"})  # no trusted proxy: not believed
    assert "strict-transport-security" not in headers_of(spoofed)


def test_hsts_through_a_trusted_proxy() -> None:
    with configured(TRUSTED_PROXIES=1):
        client = Client()
        forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        assert headers_of(client.get("/ok", headers=forwarded))["strict-transport-security"] == HSTS
        plain = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http"}
        assert "strict-transport-security" not in headers_of(client.get("/ok", headers=plain))


def test_no_store_on_authenticated_requests_unless_the_view_says(client: Client) -> None:
    bearer = {"Authorization": f"Bearer {token(sub='ada')}"}
    assert headers_of(client.get("/me", headers=bearer))["cache-control"] == "no-store"
    assert headers_of(client.get("/me", headers={"Authorization": "Bearer nope"}))["cache-control"] == "no-store"
    assert headers_of(client.get("/cached", headers=bearer))["cache-control"] == "max-age=60"


# Per-view changes


def test_a_view_changes_and_removes_headers(client: Client) -> None:
    headers = headers_of(client.get("/framed", headers=FROM_ORIGIN))
    assert "x-frame-options" not in headers
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["access-control-allow-origin"] == ORIGIN
    assert "x-frame-options" not in headers_of(client.get("/framed-boom"))  # its errors too
    assert headers_of(client.get("/ok"))["x-frame-options"] == "DENY"


def test_an_async_view_changes_its_policy(client: Client) -> None:
    reply = client.get("/async-framed")
    assert (reply.status_code, reply["Content-Security-Policy"]) == (200, "default-src 'self'")


def test_an_unknown_header_keyword_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="'frame_option' is not a security header"):
        security_headers(frame_option=None)


# The nonce


def test_the_nonce_in_the_page_is_the_one_in_its_policy(client: Client) -> None:
    nonces = []
    for reply in (client.get("/page"), client.get("/page")):
        found = NONCE_IN_PAGE.search(reply.content.decode())
        assert found is not None
        policy = reply["Content-Security-Policy"]
        assert nonce_of_policy(policy) == found.group(1)
        assert policy.startswith("default-src 'self'; script-src 'self' 'nonce-")
        assert policy.endswith(f"report-uri {REPORT_PATH}")
        nonces.append(found.group(1))
    assert nonces[0] != nonces[1]


def test_request_holds_the_nonce_the_api_policy_does_not_use(client: Client) -> None:
    reply = client.get("/nonce")
    assert reply.json()["nonce"]
    assert reply["Content-Security-Policy"] == API_HEADERS["content-security-policy"]


def test_with_both_off_nothing_is_added_and_templates_have_no_nonce() -> None:
    with configured(CORS=None, SECURITY_HEADERS=None):
        reply = Client().get("/page", headers=FROM_ORIGIN)
    assert reply.content.decode() == PAGE.replace("{{ csp_nonce }}", "")
    assert not {*API_HEADERS, "access-control-allow-origin", "vary"} & set(headers_of(reply))


# Settings


def test_the_settings_take_objects_mappings_and_dotted_paths() -> None:
    with configured(CORS={"allow_origins": [ORIGIN]}, SECURITY_HEADERS={"frame_options": "SAMEORIGIN"}):
        headers = headers_of(Client().get("/ok", headers=FROM_ORIGIN))
    assert (headers["access-control-allow-origin"], headers["x-frame-options"]) == (ORIGIN, "SAMEORIGIN")
    assert "access-control-allow-credentials" not in headers


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CORS", "tests.django.security_urls.NOWHERE", 'does not define a "NOWHERE"'),
        ("CORS", {"allow_origin": [ORIGIN]}, "CORS: "),
        ("SECURITY_HEADERS", "tests.django.security_urls.PAGE", "SECURITY_HEADERS is True, None"),
        ("CORS", {"allow_origins": ["*"], "allow_credentials": True}, "credentials"),
    ],
)
def test_bad_settings_are_improperly_configured(name: str, value: Any, says: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=says), configured(**{name: value}):
        pass


# CSP reports


def test_a_report_is_logged_redacted_and_answered_204(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="backendkit.security.csp"):
        reply = client.post(REPORT_PATH, csp_report(), content_type="application/csp-report")
    assert (reply.status_code, reply.content) == (204, b"")
    assert "content-type" not in headers_of(reply)
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
        (csp_report("https://" + "x" * 400), "application/csp-report", 413, "PAYLOAD_TOO_LARGE"),
        (csp_report(), "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"{not json", "application/csp-report", 400, "MALFORMED_JSON"),
        (b'{"something": "else"}', "application/csp-report", 400, "MALFORMED_JSON"),
    ],
)
def test_a_bad_report_is_refused_with_the_envelope(
    client: Client, body: bytes, content_type: str, status: int, code: str
) -> None:
    reply = client.post(REPORT_PATH, body, content_type=content_type, headers=FROM_ORIGIN)
    assert reply.status_code == status
    assert reply.json()["error"]["code"] == code
    assert_cors_and_security(headers_of(reply))


def test_reports_over_the_budget_are_429(client: Client) -> None:
    sent = [client.post(REPORT_PATH, csp_report(), content_type="application/csp-report") for _ in range(4)]
    assert [reply.status_code for reply in sent] == [204, 204, 204, 429]
    assert sent[-1].json()["error"]["code"] == "RATE_LIMITED"
    assert sent[-1]["Retry-After"]


def test_a_report_is_taken_before_the_body_limit_and_the_rate_limit() -> None:
    with configured(MAX_BODY_SIZE=10, RATE_LIMITS=Limit("1/minute")):
        client = Client()
        for _ in range(2):
            assert client.post(REPORT_PATH, csp_report(), content_type="application/csp-report").status_code == 204
        assert client.get("/ok").status_code == 200


def test_stacked_changes_add_up_and_the_innermost_wins() -> None:
    from django.http import HttpRequest, JsonResponse
    from django.test import RequestFactory

    from backendkit.django import ErrorMiddleware
    from backendkit.django.security import security_headers as changed

    @changed(frame_options=None, referrer_policy="origin")
    @changed(referrer_policy="same-origin")
    def stacked(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    response = ErrorMiddleware(stacked)(RequestFactory().get("/stacked"))
    assert "X-Frame-Options" not in response
    assert response["Referrer-Policy"] == "same-origin"
