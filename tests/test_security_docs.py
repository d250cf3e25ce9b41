"""docs/security.md's set-up works as written, on every framework: its blocks run, then serve requests."""

from __future__ import annotations

import re
from typing import Any

from tests.test_docs import run, section_blocks

ORIGIN = "https://app.example.com"
NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")


def _nonce_matches(policy: str, body: str) -> bool:
    found = NONCE.search(policy)
    return found is not None and f'nonce="{found.group(1)}"' in body


def test_the_fastapi_and_starlette_set_up() -> None:
    from fastapi.testclient import TestClient

    blocks = section_blocks("security.md", "Per framework")
    ns: dict[str, Any] = run(blocks["FastAPI"], {"__name__": __name__})
    client = TestClient(ns["app"])
    reply = client.get("/tasks", headers={"Origin": ORIGIN})
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert reply.headers["x-frame-options"] == "DENY"
    page = client.get("/")
    assert _nonce_matches(page.headers["content-security-policy"], page.text)
    assert "x-frame-options" not in client.get("/embeddable").headers
    preflight = client.options("/tasks", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"})
    assert preflight.status_code == 204
    ns = run(blocks["Starlette"], ns)
    page = TestClient(ns["starlette_app"]).get("/", headers={"Origin": ORIGIN})
    assert page.headers["access-control-allow-origin"] == ORIGIN
    assert _nonce_matches(page.headers["content-security-policy"], page.text)


def test_the_flask_set_up() -> None:
    blocks = section_blocks("security.md", "Per framework")
    ns: dict[str, Any] = run(blocks["Flask"], {"__name__": __name__})
    client = ns["flask_app"].test_client()
    page = client.get("/", headers={"Origin": ORIGIN})
    assert page.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert _nonce_matches(page.headers["Content-Security-Policy"], page.get_data(as_text=True))
    embeddable = client.get("/embeddable")
    assert embeddable.status_code == 200
    assert "X-Frame-Options" not in embeddable.headers
    assert embeddable.headers["X-Content-Type-Options"] == "nosniff"


def test_the_django_settings_are_what_the_adapter_reads() -> None:
    from django.template import engines
    from django.test import RequestFactory, override_settings

    from backendkit.django import ErrorMiddleware
    from backendkit.security import CORS, SecurityHeaders

    blocks = section_blocks("security.md", "Per framework")
    ns: dict[str, Any] = run(blocks["Django"], {"__name__": __name__})
    template = '<script nonce="{{ csp_nonce }}"></script>'
    with override_settings(BACKENDKIT=ns["BACKENDKIT"], TEMPLATES=ns["TEMPLATES"]):
        engine = engines["django"]

        def view(request: Any) -> Any:
            from django.http import HttpResponse

            return HttpResponse(engine.from_string(template).render({}, request))

        response = ErrorMiddleware(view)(RequestFactory().get("/", HTTP_ORIGIN=ORIGIN))
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Content-Security-Policy"].endswith("report-uri /csp-report")
    assert _nonce_matches(response["Content-Security-Policy"], response.content.decode())
    assert isinstance(CORS(**ns["BACKENDKIT"]["CORS"]), CORS)
    assert isinstance(SecurityHeaders(**ns["BACKENDKIT"]["SECURITY_HEADERS"]), SecurityHeaders)


def test_the_policy_block_builds() -> None:
    text = (section_blocks("security.md", "Security headers"))[""]
    ns = run(text, {"__name__": __name__})
    headers = ns["headers"]
    policy = dict(headers.for_response(html=True, https=False, authenticated=False, nonce="N"))
    assert (
        policy["Content-Security-Policy"] == "default-src 'self'; script-src 'self' 'nonce-N'; report-uri /csp-report"
    )
    assert (
        policy["Content-Security-Policy-Report-Only"]
        == "default-src 'none'; script-src 'nonce-N'; report-uri /csp-report"
    )
