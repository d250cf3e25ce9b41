"""FastAPI: the security_headers dependency, its absence from OpenAPI, and preflights before auth and idempotency."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jinja2
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from fastapi.testclient import TestClient
from pydantic import BaseModel

from backendkit.asgi.idempotency import IdempotencyMiddleware
from backendkit.asgi.ratelimit import RateLimitMiddleware
from backendkit.auth import JWTVerifier, Principal
from backendkit.errors import ConfigurationError
from backendkit.fastapi import install
from backendkit.fastapi.auth import Auth
from backendkit.fastapi.security import csp_nonce, security_headers
from backendkit.idempotency import Idempotency, MemoryStore
from backendkit.ratelimit import Limit
from backendkit.security import CORS, CSP
from backendkit.starlette import security as starlette_security
from tests.auth.keys import AUDIENCE, ISSUER, NOW, token, verifying_keys
from tests.support.security import assert_cors_and_security, nonce_of_policy, vary

ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "authorization, idempotency-key, content-type",
}
TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.DictLoader({"page.html": '<script nonce="{{ csp_nonce }}">go()</script>'}), autoescape=True
    ),
    context_processors=[csp_nonce],
)


class Task(BaseModel):
    title: str


def build(*, with_overrides: bool = True, rate: str = "100/minute", **options: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(RateLimitMiddleware, limits=Limit(rate))
    keys = Idempotency(MemoryStore(), methods=("POST", "PUT"), required=True)
    app.add_middleware(IdempotencyMiddleware, idempotency=keys)
    install(app, **{"cors": CORS(allow_origins=[ORIGIN], allow_credentials=True), **options})
    auth = Auth(JWTVerifier(verifying_keys(), issuer=ISSUER, audience=AUDIENCE, clock=lambda: NOW))
    authenticated = auth.require()
    changes = [Depends(security_headers(frame_options=None, referrer_policy="same-origin"))] if with_overrides else []
    router = APIRouter(dependencies=[Depends(security_headers(frame_options=None))] if with_overrides else [])

    @app.put("/tasks/{task_id}")
    async def put_task(task_id: int, task: Task, principal: Principal = Depends(authenticated)) -> dict[str, Any]:
        return {"id": task_id, "title": task.title, "by": principal.subject}

    @app.get("/me")
    async def me(principal: Principal = Depends(authenticated)) -> dict[str, str]:
        return {"sub": principal.subject}

    @app.get("/tasks", dependencies=changes)
    async def tasks(limit: int = 10) -> list[dict[str, str]]:
        return [{"title": "t"}] * min(limit, 1)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("escaped")

    @app.get("/page", response_class=HTMLResponse)
    async def page(request: Request) -> Any:
        return TEMPLATES.TemplateResponse(request, "page.html")

    @router.get("/framed", dependencies=[Depends(security_headers(referrer_policy="origin"))] if with_overrides else [])
    async def framed() -> dict[str, bool]:
        return {"ok": True}

    @router.get(
        "/own-policy",
        response_class=HTMLResponse,
        dependencies=[Depends(security_headers(content_security_policy=CSP(script_src=[CSP.NONCE])))]
        if with_overrides
        else [],
    )
    async def own_policy(request: Request) -> str:
        return f'<script nonce="{request.state.csp_nonce}"></script>'

    app.include_router(router, prefix="/r")
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build(), raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_preflight_passes_before_auth_idempotency_and_rate_limits() -> None:
    with TestClient(build(rate="3/minute")) as client:
        preflights_then_requests(client)


def preflights_then_requests(client: TestClient) -> None:
    for _ in range(6):  # twice the limit
        reply = client.options("/tasks/1", headers=PREFLIGHT)
        assert reply.status_code == 204
        assert reply.headers["access-control-allow-headers"] == "authorization, idempotency-key, content-type"
        assert "ratelimit" not in reply.headers
    unauthenticated = client.get("/me", headers={"Origin": ORIGIN})  # the limit is all there: three requests
    assert unauthenticated.status_code == 401
    assert_cors_and_security(unauthenticated.headers)
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    no_key = client.put(
        "/tasks/1", json={"title": "a"}, headers={"Origin": ORIGIN, "Authorization": f"Bearer {token()}"}
    )
    assert no_key.status_code in (400, 428), no_key.text
    assert_cors_and_security(no_key.headers)
    done = client.put(
        "/tasks/1",
        json={"title": "a"},
        headers={"Origin": ORIGIN, "Authorization": f"Bearer {token()}", "Idempotency-Key": "k-1"},
    )
    assert done.status_code == 200, done.text
    assert_cors_and_security(done.headers)
    assert done.headers["cache-control"] == "no-store"
    # Counted: /me and the PUT that ran (the idempotency refusal came before the limit); the third is the last.
    last, limited = (client.get("/tasks", headers={"Origin": ORIGIN}) for _ in range(2))
    assert (last.status_code, limited.status_code) == (200, 429)
    assert_cors_and_security(limited.headers)
    assert limited.headers["retry-after"]


def test_cors_and_security_headers_on_422_404_405_and_500(client: TestClient) -> None:
    headers = {"Origin": ORIGIN, "Authorization": f"Bearer {token()}", "Idempotency-Key": "k-2"}
    invalid = client.put("/tasks/1", json={"title": 3}, headers=headers)
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "VALIDATION_ERROR"
    assert_cors_and_security(invalid.headers)
    for status, reply in ((404, client.get("/nope", headers=headers)), (405, client.delete("/me", headers=headers))):
        assert reply.status_code == status
        assert_cors_and_security(reply.headers)
    crashed = client.get("/boom", headers={"Origin": ORIGIN})
    assert crashed.status_code == 500
    assert_cors_and_security(crashed.headers)
    assert "escaped" not in crashed.text


def test_route_and_router_changes(client: TestClient) -> None:
    route = client.get("/tasks")
    assert "x-frame-options" not in route.headers
    assert route.headers["referrer-policy"] == "same-origin"
    framed = client.get("/r/framed")  # the router's change and the route's own, merged
    assert "x-frame-options" not in framed.headers
    assert framed.headers["referrer-policy"] == "origin"
    assert client.get("/me").headers["x-frame-options"] == "DENY"  # no change there
    own = client.get("/r/own-policy")
    nonce = nonce_of_policy(own.headers["content-security-policy"])
    assert own.headers["content-security-policy"] == f"script-src 'nonce-{nonce}'"
    assert f'nonce="{nonce}"' in own.text


def test_the_changes_apply_to_the_route_errors_too(client: TestClient) -> None:
    invalid = client.get("/tasks", params={"limit": "many"})
    assert invalid.status_code == 422
    assert "x-frame-options" not in invalid.headers
    assert invalid.headers["referrer-policy"] == "same-origin"


def test_the_template_nonce_is_the_header_nonce(client: TestClient) -> None:
    reply = client.get("/page", headers={"Origin": ORIGIN})
    nonce = nonce_of_policy(reply.headers["content-security-policy"])
    assert reply.text == f'<script nonce="{nonce}">go()</script>'
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert "origin" in vary(reply.headers)
    assert csp_nonce is starlette_security.csp_nonce


def test_security_headers_adds_nothing_to_openapi() -> None:
    assert build(with_overrides=True).openapi() == build(with_overrides=False).openapi()


def test_a_bad_change_fails_when_the_route_is_declared() -> None:
    with pytest.raises(ConfigurationError, match="not a security header"):
        security_headers(frame="DENY")
    with pytest.raises(ConfigurationError, match="header value"):
        security_headers(frame_options="DENY\r\nX: y")


def test_hsts_only_over_https() -> None:
    app = build()
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/r/framed").headers["strict-transport-security"].startswith("max-age=")
    with TestClient(app) as client:
        assert "strict-transport-security" not in client.get("/r/framed").headers


def test_the_default_headers_leave_the_interactive_docs_working() -> None:
    # Swagger UI and ReDoc load from a CDN and run an inline script without a nonce: the default HTML
    # policy is none, so an existing app's /docs keeps working once backendkit is installed.
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from backendkit.fastapi import install

    app = FastAPI()
    install(app)
    client = TestClient(app)
    for path in ("/docs", "/redoc"):
        reply = client.get(path)
        assert reply.status_code == 200
        assert "content-security-policy" not in reply.headers
        assert reply.headers["x-content-type-options"] == "nosniff"
    assert (
        client.get("/openapi.json").headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
