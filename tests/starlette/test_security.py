"""Starlette: CORS and the security headers on every response, preflights and CSP reports, per-route changes."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import jinja2
import pytest
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.testclient import TestClient

from backendkit.asgi.ratelimit import RateLimitMiddleware
from backendkit.errors import ConfigurationError, Unauthorized, ValidationFailed
from backendkit.ratelimit import Limit
from backendkit.security import CORS, CSP, SecurityHeaders
from backendkit.starlette import install
from backendkit.starlette.security import csp_nonce, security_headers
from tests.support.asgi import from_peer
from tests.support.logs import LineCatcher
from tests.support.net import request as socket_request
from tests.support.security import API_HEADERS, assert_cors_and_security, nonce_of_policy, vary
from tests.support.servers import uvicorn_server

ORIGIN = "https://app.example.com"
EVIL = "https://app.example.com.evil.test"
POLICY = CORS(allow_origins=[ORIGIN], allow_credentials=True)
REPORTS = SecurityHeaders(report_path="/csp-report", report_max_bytes=1000, reports_per_minute=3)
TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.DictLoader({"page.html": '<p>{{ title }}</p><script nonce="{{ csp_nonce }}">go()</script>'}),
        autoescape=True,
    ),
    context_processors=[csp_nonce],
)


async def items(request: Request) -> Response:
    if request.method == "POST":
        await request.body()
    return JSONResponse({"items": []})


async def boom(request: Request) -> Response:
    raise RuntimeError("escaped")


async def secret(request: Request) -> Response:
    raise Unauthorized()


async def invalid(request: Request) -> Response:
    raise ValidationFailed()


async def page(request: Request) -> Response:
    return TEMPLATES.TemplateResponse(request, "page.html", {"title": "<hello>"})


@security_headers(frame_options=None, referrer_policy="same-origin")
async def embeddable(request: Request) -> Response:
    return JSONResponse({"framed": True})


@security_headers(frame_options=None, cache_control="public, max-age=60")
def embeddable_sync(request: Request) -> Response:
    return JSONResponse({"framed": True})


@security_headers(content_security_policy=CSP(script_src=[CSP.NONCE]))
async def own_policy_page(request: Request) -> Response:
    return HTMLResponse(f'<script nonce="{request.state.csp_nonce}"></script>')


async def cached(request: Request) -> Response:
    return JSONResponse({}, headers={"Cache-Control": "private, max-age=5"})


class Framed(HTTPEndpoint):
    @security_headers(frame_options="SAMEORIGIN")
    async def get(self, request: Request) -> Response:
        return JSONResponse({})


ROUTES = [
    Route("/items", items, methods=["GET", "POST", "PUT"]),
    Route("/boom", boom),
    Route("/secret", secret),
    Route("/invalid", invalid),
    Route("/page", page),
    Route("/embeddable", embeddable),
    Route("/embeddable-sync", embeddable_sync),
    Route("/own-policy", own_policy_page),
    Route("/cached", cached),
    Route("/framed", Framed),
]


def make_app(*, middleware: list[Middleware] | None = None, **options: Any) -> Starlette:
    app = Starlette(routes=ROUTES, middleware=middleware or [])
    install(app, **{"cors": POLICY, **options})
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app(max_body_size=100), raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_allowed_preflight_is_answered_with_the_allow_headers(client: TestClient) -> None:
    reply = client.options(
        "/items",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, idempotency-key, content-type, x-request-id",
        },
    )
    assert reply.status_code == 204
    assert reply.content == b""
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert reply.headers["access-control-allow-credentials"] == "true"
    assert "PUT" in reply.headers["access-control-allow-methods"]
    assert reply.headers["access-control-allow-headers"] == "authorization, idempotency-key, content-type, x-request-id"
    assert reply.headers["access-control-max-age"] == "600"
    assert {"origin", "access-control-request-method"} <= vary(reply.headers)
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-request-id"]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Origin": EVIL, "Access-Control-Request-Method": "GET"}, "origin"),
        ({"Origin": "null", "Access-Control-Request-Method": "GET"}, "origin"),
        ({"Origin": ORIGIN, "Access-Control-Request-Method": "TRACE"}, "method"),
        (
            {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-evil"},
            "x-evil",
        ),
        (
            {
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Private-Network": "true",
            },
            "private network",
        ),
    ],
)
def test_a_refused_preflight_is_a_403_envelope_without_the_allow_headers(
    client: TestClient, headers: dict[str, str], reason: str
) -> None:
    reply = client.options("/items", headers=headers)
    assert reply.status_code == 403
    error = reply.json()["error"]
    assert error["code"] == "CORS_REFUSED"
    assert reason in error["message"]
    assert error["request_id"] == reply.headers["x-request-id"]
    assert not any(name.startswith("access-control-allow") for name in reply.headers)
    assert "origin" in vary(reply.headers)
    assert reply.headers["content-security-policy"] == API_HEADERS["content-security-policy"]


def test_a_preflight_to_a_path_with_no_route_is_answered_before_the_router(client: TestClient) -> None:
    reply = client.options("/no/such/route", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"})
    assert reply.status_code == 204
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    # Without Access-Control-Request-Method it is an ordinary OPTIONS: the router's answer, decorated.
    plain = client.options("/no/such/route", headers={"Origin": ORIGIN})
    assert plain.status_code == 404
    assert_cors_and_security(plain.headers)


def test_cors_and_security_headers_on_every_status(client: TestClient) -> None:
    headers = {"Origin": ORIGIN}
    replies = {
        200: client.get("/items", headers=headers),
        404: client.get("/nothing-here", headers=headers),
        405: client.delete("/items", headers=headers),
        401: client.get("/secret", headers=headers),
        413: client.post("/items", headers=headers, content=b"x" * 101),
        422: client.get("/invalid", headers=headers),
        500: client.get("/boom", headers=headers),
    }
    for status, reply in replies.items():
        assert reply.status_code == status, (status, reply.text)
        assert_cors_and_security(reply.headers)
        if status != 200:
            assert reply.json()["error"]["request_id"] == reply.headers["x-request-id"]
    assert "escaped" not in replies[500].text


def test_a_chunked_body_over_the_limit_is_413_with_the_headers(client: TestClient) -> None:
    reply = client.post("/items", headers={"Origin": ORIGIN}, content=iter([b"x" * 60, b"x" * 60]))
    assert reply.status_code == 413
    assert_cors_and_security(reply.headers)


def test_a_refused_origin_reads_nothing_but_still_gets_vary_and_the_security_headers(client: TestClient) -> None:
    for origin in (EVIL, "null", "https://evilapp.example.com"):
        reply = client.get("/boom", headers={"Origin": origin})
        assert reply.status_code == 500
        assert "access-control-allow-origin" not in reply.headers
        assert "access-control-allow-credentials" not in reply.headers
        assert "origin" in vary(reply.headers)
        assert reply.headers["x-frame-options"] == "DENY"


def test_the_rate_limit_does_not_count_preflights_and_its_429_is_readable() -> None:
    app = make_app(middleware=[Middleware(RateLimitMiddleware, limits=Limit("2/minute"))])
    with TestClient(app) as client:
        for _ in range(5):
            preflight = client.options("/items", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"})
            assert preflight.status_code == 204
            assert "ratelimit" not in preflight.headers
        assert [client.get("/items", headers={"Origin": ORIGIN}).status_code for _ in range(2)] == [200, 200]
        refused = client.get("/items", headers={"Origin": ORIGIN})
    assert refused.status_code == 429
    assert_cors_and_security(refused.headers)
    assert refused.headers["retry-after"]
    assert refused.headers["ratelimit"]


def test_the_nonce_in_a_jinja2_template_is_the_nonce_of_the_csp_header(client: TestClient) -> None:
    first = client.get("/page")
    second = client.get("/page")
    assert first.headers["content-type"].startswith("text/html")
    nonce = nonce_of_policy(first.headers["content-security-policy"])
    assert f'<script nonce="{nonce}">go()</script>' in first.text
    assert "&lt;hello&gt;" in first.text  # autoescape on, the nonce still written as it is
    assert nonce_of_policy(second.headers["content-security-policy"]) != nonce
    assert "script-src 'nonce-" in first.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]


def test_csp_nonce_is_empty_when_the_security_headers_are_off() -> None:
    app = make_app(security_headers=None, cors=None)
    with TestClient(app) as client:
        reply = client.get("/page")
    assert '<script nonce="">' in reply.text
    assert "content-security-policy" not in reply.headers


def test_per_route_changes_async_sync_and_endpoint_methods(client: TestClient) -> None:
    reply = client.get("/embeddable", headers={"Origin": ORIGIN})
    assert "x-frame-options" not in reply.headers
    assert reply.headers["referrer-policy"] == "same-origin"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    sync = client.get("/embeddable-sync")
    assert "x-frame-options" not in sync.headers
    assert sync.headers["cache-control"] == "public, max-age=60"
    assert client.get("/framed").headers["x-frame-options"] == "SAMEORIGIN"
    assert client.get("/items").headers["x-frame-options"] == "DENY"  # other routes keep the defaults


def test_a_route_policy_with_the_nonce(client: TestClient) -> None:
    reply = client.get("/own-policy")
    nonce = nonce_of_policy(reply.headers["content-security-policy"])
    assert reply.headers["content-security-policy"] == f"script-src 'nonce-{nonce}'"
    assert f'nonce="{nonce}"' in reply.text


def test_a_bad_per_route_change_fails_when_decorating() -> None:
    with pytest.raises(ConfigurationError, match="not a security header"):
        security_headers(x_frame="DENY")
    with pytest.raises(TypeError, match="endpoint function"):
        security_headers(frame_options=None)(42)  # type: ignore[type-var]


def test_no_store_with_authorization_unless_the_endpoint_set_cache_control(client: TestClient) -> None:
    assert client.get("/items", headers={"Authorization": "Bearer x"}).headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/items").headers
    assert client.get("/cached", headers={"Authorization": "Bearer x"}).headers["cache-control"] == "private, max-age=5"
    assert client.get("/secret", headers={"Authorization": "Bearer x"}).headers["cache-control"] == "no-store"


def test_hsts_over_https_and_through_a_trusted_proxy_only() -> None:
    app = make_app()
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/items").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    with TestClient(app) as client:
        assert "strict-transport-security" not in client.get("/items").headers
        assert "strict-transport-security" not in client.get("/items", headers={"X-Forwarded-Proto": "https"}).headers
    proxied = make_app(trusted_proxies=["10.0.0.0/8"])
    with TestClient(from_peer(proxied, "10.0.0.2", 4000)) as client:
        assert "strict-transport-security" in client.get("/items", headers={"X-Forwarded-Proto": "https"}).headers
        assert "strict-transport-security" not in client.get("/items", headers={"X-Forwarded-Proto": "http"}).headers
        spoofed = client.get("/items", headers={"X-Forwarded-Proto": "https, http"})
        assert "strict-transport-security" not in spoofed.headers
    with TestClient(from_peer(proxied, "203.0.113.9", 4000)) as client:  # not our proxy
        assert "strict-transport-security" not in client.get("/items", headers={"X-Forwarded-Proto": "https"}).headers


def test_cors_given_as_a_mapping() -> None:
    app = make_app(cors={"allow_origins": ["https://*.example.org"], "allow_credentials": False})
    with TestClient(app) as client:
        reply = client.get("/items", headers={"Origin": "https://a.example.org"})
        assert reply.headers["access-control-allow-origin"] == "https://a.example.org"
        assert "access-control-allow-credentials" not in reply.headers
        assert (
            "access-control-allow-origin" not in client.get("/items", headers={"Origin": "https://example.org"}).headers
        )
    with pytest.raises(ConfigurationError, match="every site"):
        make_app(cors={"allow_origins": ["*"], "allow_credentials": True})


REPORT = json.dumps(
    {
        "csp-report": {
            "document-uri": "https://app.example.com/account?token=s3cret#frag",
            "blocked-uri": "inline",
            "effective-directive": "script-src-elem",
            "script-sample": "leak()",
        }
    }
).encode()
CSP_REPORT = {"Content-Type": "application/csp-report", "Origin": ORIGIN}


def test_the_report_endpoint_logs_the_redacted_violation(log_lines: LineCatcher) -> None:
    with TestClient(make_app(security_headers=REPORTS)) as client:
        reply = client.post("/csp-report", content=REPORT, headers=CSP_REPORT)
    assert reply.status_code == 204
    assert reply.content == b""
    assert_cors_and_security(reply.headers)
    (line,) = [line for line in log_lines.lines if line.get("logger") == "backendkit.security.csp"]
    assert line["csp"] == {
        "document_uri": "https://app.example.com/account",
        "blocked_uri": "inline",
        "directive": "script-src-elem",
    }
    assert line["request_id"] == reply.headers["x-request-id"]
    assert "s3cret" not in json.dumps(log_lines.lines)
    assert "leak()" not in json.dumps(log_lines.lines)


def test_the_report_endpoint_refusals() -> None:
    with TestClient(make_app(security_headers=REPORTS)) as client:
        too_large = client.post("/csp-report", content=b"x" * 1001, headers=CSP_REPORT)
        chunked = client.post("/csp-report", content=iter([b"x" * 600, b"x" * 600]), headers=CSP_REPORT)
        wrong_type = client.post("/csp-report", content=REPORT, headers={"Content-Type": "text/plain"})
        not_json = client.post("/csp-report", content=b"{", headers=CSP_REPORT)
        spent = client.post("/csp-report", content=REPORT, headers=CSP_REPORT)
        over_budget = client.post("/csp-report", content=REPORT, headers=CSP_REPORT)
        get = client.get("/csp-report")
    assert (too_large.status_code, too_large.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert chunked.status_code == 413
    assert (wrong_type.status_code, wrong_type.json()["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "MALFORMED_JSON")
    assert spent.status_code == 204
    assert over_budget.status_code == 429  # three a minute: the 415, the 400 and the 204 spent them
    assert over_budget.headers["retry-after"] == "20"
    assert get.status_code == 405  # the report endpoint takes only POST
    for reply in (too_large, chunked, not_json, over_budget):
        assert_cors_and_security(reply.headers)


def test_over_a_real_socket() -> None:
    app = make_app(security_headers=REPORTS, max_body_size=100)
    with uvicorn_server(app) as port:
        preflight = socket_request(
            port, "OPTIONS", "/anything", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
        )
        crash = socket_request(port, "GET", "/boom", headers={"Origin": ORIGIN})
        page_reply = socket_request(port, "GET", "/page", headers={"Origin": ORIGIN})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:  # a chunked report over the limit: refused once the limit is passed, whatever was declared
            conn.request(
                "POST", "/csp-report", body=iter([b"x" * 700, b"x" * 700]), headers=CSP_REPORT, encode_chunked=True
            )
            chunked = conn.getresponse()
            chunked_status, chunked_headers = chunked.status, {k.lower(): v for k, v in chunked.getheaders()}
            chunked.read()
        finally:
            conn.close()
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert crash.status == 500
    assert_cors_and_security(crash.headers)
    nonce = nonce_of_policy(page_reply.headers["content-security-policy"])
    assert f'nonce="{nonce}"'.encode() in page_reply.body
    assert chunked_status == 413
    assert_cors_and_security(chunked_headers)
