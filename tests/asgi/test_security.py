"""ErrorMiddleware around a plain ASGI application: CORS, security headers, preflights and CSP reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from backendkit.asgi import ErrorMiddleware, Scope
from backendkit.errors import NotFound
from backendkit.proxies import TrustedProxies
from backendkit.security import CSP, route_overrides
from backendkit.security._exchange import store_overrides
from tests.support.asgi import from_peer
from tests.support.logs import LineCatcher
from tests.support.net import request as socket_request
from tests.support.security import (
    API_HEADERS,
    CORS_SETTING,
    HSTS,
    ORIGIN,
    assert_cors_and_security,
    csp_report,
    nonce_of_policy,
    security_setting,
    vary,
)
from tests.support.servers import uvicorn_server

EVIL = "https://example.com.evil.test"


async def send_json(send: Any, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": data})


async def app(scope: Scope, receive: Any, send: Any) -> None:
    """A bare ASGI application: no framework, its own routing."""
    if scope["type"] == "lifespan":
        for answer in ("lifespan.startup.complete", "lifespan.shutdown.complete"):
            await receive()
            await send({"type": answer})
        return
    path = scope["path"]
    if path == "/boom":
        raise RuntimeError("escaped")
    if path == "/missing":
        raise NotFound()
    if path == "/upload":
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
    if path == "/page":
        nonce = scope["state"]["csp_nonce"]
        body = f'<script nonce="{nonce}">go()</script>'.encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": body})
        return
    if path == "/changed":
        store_overrides(scope, route_overrides(frame_options=None, content_security_policy=CSP(default_src=["'self'"])))
    if path == "/cached":
        await send_json(send, 200, {}, [(b"cache-control", b"max-age=30")])
        return
    await send_json(send, 200, {"path": path})


def wrapped(**options: Any) -> ErrorMiddleware:
    return ErrorMiddleware(app, **{"cors": CORS_SETTING, "security_headers": security_setting(), **options})


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(wrapped(max_body_size=100), raise_server_exceptions=False) as test_client:
        yield test_client


def test_preflights_allowed_refused_and_for_any_path(client: TestClient) -> None:
    allowed = client.options(
        "/whatever/path",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "x-request-id",
        },
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["access-control-allow-headers"] == "x-request-id"
    assert allowed.headers["x-content-type-options"] == "nosniff"
    subdomain = client.options(
        "/x", headers={"Origin": "https://a.example.com", "Access-Control-Request-Method": "GET"}
    )
    assert subdomain.headers["access-control-allow-origin"] == "https://a.example.com"
    for origin in (EVIL, "https://a.b.example.com", "null", "https://example.com"):
        refused = client.options("/x", headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
        assert refused.status_code == 403, origin
        assert refused.json()["error"]["code"] == "CORS_REFUSED"
        assert "access-control-allow-origin" not in refused.headers
        assert "origin" in vary(refused.headers)


def test_every_response_of_the_app_carries_the_headers(client: TestClient) -> None:
    headers = {"Origin": ORIGIN}
    replies = {
        200: client.get("/ok", headers=headers),
        404: client.get("/missing", headers=headers),
        413: client.post("/upload", headers=headers, content=iter([b"x" * 80, b"x" * 80])),
        500: client.get("/boom", headers=headers),
    }
    for status, reply in replies.items():
        assert reply.status_code == status
        assert_cors_and_security(reply.headers)
    assert "escaped" not in replies[500].text


def test_a_refused_origin_gets_vary_and_the_security_headers_only(client: TestClient) -> None:
    reply = client.get("/boom", headers={"Origin": EVIL})
    assert reply.status_code == 500
    assert not [name for name in reply.headers if name.startswith("access-control-")]
    assert "origin" in vary(reply.headers)
    for name, value in API_HEADERS.items():
        assert reply.headers[name] == value


def test_the_nonce_the_app_reads_is_the_header_nonce(client: TestClient) -> None:
    reply = client.get("/page")
    nonce = nonce_of_policy(reply.headers["content-security-policy"])
    assert reply.text == f'<script nonce="{nonce}">go()</script>'
    assert reply.headers["content-security-policy"].endswith("report-uri /csp-report")


def test_changes_the_app_stores_in_the_scope(client: TestClient) -> None:
    reply = client.get("/changed")
    assert "x-frame-options" not in reply.headers
    assert reply.headers["content-security-policy"] == "default-src 'self'"
    assert client.get("/ok").headers["x-frame-options"] == "DENY"


def test_no_store_with_authorization_unless_the_app_chose(client: TestClient) -> None:
    assert client.get("/ok", headers={"Authorization": "Bearer t"}).headers["cache-control"] == "no-store"
    assert client.get("/cached", headers={"Authorization": "Bearer t"}).headers["cache-control"] == "max-age=30"
    assert client.get("/boom", headers={"Authorization": "Bearer t"}).headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/ok").headers


def test_hsts_over_https_and_from_a_trusted_proxy() -> None:
    with TestClient(wrapped(), base_url="https://testserver") as client:
        assert client.get("/ok").headers["strict-transport-security"] == HSTS
    behind = wrapped(trusted_proxies=["10.0.0.0/8"], cors=None)
    with TestClient(from_peer(behind, "10.1.1.1", 999)) as client:
        assert client.get("/ok", headers={"X-Forwarded-Proto": "https"}).headers["strict-transport-security"] == HSTS
        assert "strict-transport-security" not in client.get("/ok").headers
    forwarded = wrapped(trusted_proxies=TrustedProxies(["10.0.0.0/8"], header="Forwarded"), cors=None)
    with TestClient(from_peer(forwarded, "10.1.1.1", 999)) as client:
        reply = client.get("/ok", headers={"Forwarded": "for=198.51.100.1;proto=https"})
        assert reply.headers["strict-transport-security"] == HSTS
        assert "strict-transport-security" not in client.get("/ok", headers={"X-Forwarded-Proto": "https"}).headers
    with TestClient(from_peer(behind, "198.51.100.1", 999)) as client:  # not a proxy of ours
        assert "strict-transport-security" not in client.get("/ok", headers={"X-Forwarded-Proto": "https"}).headers


def test_the_report_endpoint(log_lines: LineCatcher) -> None:
    content = {"Content-Type": "application/csp-report", "Origin": ORIGIN}
    with TestClient(wrapped()) as client:
        taken = client.post("/csp-report", content=csp_report(), headers=content)
        chunked = client.post("/csp-report", content=iter([b"x" * 300, b"x" * 300]), headers=content)
        wrong = client.post("/csp-report", content=csp_report(), headers={"Content-Type": "text/html"})
        broken = client.post("/csp-report", content=b"{", headers=content)
        over = client.post("/csp-report", content=csp_report(), headers=content)
        get = client.get("/csp-report")
    assert [r.status_code for r in (taken, chunked, wrong, broken, over, get)] == [204, 413, 415, 400, 429, 405]
    for reply in (taken, chunked, broken, over):
        assert_cors_and_security(reply.headers)
    (line,) = [line for line in log_lines.lines if line.get("logger") == "backendkit.security.csp"]
    assert line["csp"]["document_uri"] == f"{ORIGIN}/page"
    assert "s3cret" not in json.dumps(log_lines.lines)
    assert "alert(1)" not in json.dumps(log_lines.lines)


def test_off_means_nothing_added() -> None:
    with TestClient(ErrorMiddleware(app, security_headers=None), raise_server_exceptions=False) as client:
        reply = client.get("/boom", headers={"Origin": ORIGIN})
    assert reply.status_code == 500
    assert not set(API_HEADERS) & set(reply.headers)
    assert "access-control-allow-origin" not in reply.headers


def test_over_uvicorn() -> None:
    with uvicorn_server(wrapped(max_body_size=100)) as port:
        preflight = socket_request(
            port, "OPTIONS", "/a", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
        )
        crash = socket_request(port, "GET", "/boom", headers={"Origin": ORIGIN})
        too_large = socket_request(port, "POST", "/upload", headers={"Origin": ORIGIN}, body=b"x" * 101)
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    for reply, status in ((crash, 500), (too_large, 413)):
        assert reply.status == status
        assert_cors_and_security(reply.headers)
