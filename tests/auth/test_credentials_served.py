"""API keys and the refresh endpoint over real servers: what the servers do to the header lines changes nothing.

A server may hand an application a repeated header as two lines (uvicorn, to Starlette)
or as one joined with commas (waitress, and Django's ASGI handler): two ``X-API-Key``
lines are a 400 either way. The apps are ``tests.auth.apps``', served by uvicorn
(FastAPI, Starlette, Django over ASGI) and waitress (Flask, Django over WSGI).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.auth import apps
from tests.support.net import Reply, request
from tests.support.servers import uvicorn_server, waitress_server

pytestmark = pytest.mark.socket


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application
    from django.test import override_settings

    with (
        override_settings(**apps.DJANGO_SETTINGS),
        uvicorn_server(apps.fastapi_app()) as fastapi,
        uvicorn_server(apps.starlette_app()) as starlette,
        waitress_server(apps.flask_app()) as flask,
        uvicorn_server(get_asgi_application()) as django_asgi,
        waitress_server(get_wsgi_application()) as django_wsgi,
    ):
        yield {
            "fastapi": fastapi,
            "starlette": starlette,
            "flask": flask,
            "django-asgi": django_asgi,
            "django-wsgi": django_wsgi,
        }


def _normalized(reply: Reply) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in reply.headers.items() if k not in ("x-request-id", "date", "server", "connection")}
    body = json.loads(reply.body)
    if isinstance(body.get("error"), dict):
        body["error"].pop("request_id")
    return reply.status, headers, body


def _everywhere(ports: dict[str, int], path: str, headers: list[tuple[str, str]]) -> dict[str, Reply]:
    return {where: request(port, "GET", path, headers=headers) for where, port in ports.items()}


def _alike(replies: dict[str, Reply]) -> None:
    seen = {where: _normalized(reply) for where, reply in replies.items()}
    for where, reply in seen.items():
        assert reply == seen["fastapi"], f"{where} differs from fastapi"


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([("X-API-Key", "{key}")], 200),
        ([("x-api-key", "{key}")], 200),
        ([("X-API-KEY", "  {key}  ")], 200),
        ([("Authorization", "Bearer {key}")], 200),
        ([("X-API-Key", "{key}"), ("X-API-Key", "{key}")], 400),
        ([("X-API-Key", "{key}"), ("X-API-Key", "")], 400),
        ([("X-API-Key", "{key}"), ("Authorization", "Bearer {key}")], 400),
        ([("X-API-Key", "{key}x")], 401),
        ([("X-API-Key", "")], 401),
    ],
)
def test_the_key_header_is_read_alike_behind_every_server(
    ports: dict[str, int], lines: list[tuple[str, str]], status: int
) -> None:
    key = apps.KEYS.create("served-1").key
    replies = _everywhere(ports, "/me", [(name, value.format(key=key)) for name, value in lines])
    for where, reply in replies.items():
        assert reply.status == status, (where, reply)
    if status == 200:  # (the views are each app's own: their bodies are not compared byte for byte)
        assert {json.loads(reply.body)["sub"] for reply in replies.values()} == {"served-1"}
        assert {reply.headers["cache-control"] for reply in replies.values()} == {"no-store"}
    else:
        _alike(replies)


def test_the_refresh_endpoint_answers_alike_behind_every_server(ports: dict[str, int]) -> None:
    replies: dict[str, Reply] = {}
    for where, port in ports.items():
        pair = apps.REFRESH.issue_pair("served-2")
        body = f"grant_type=refresh_token&refresh_token={pair.refresh_token}".encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        answered = request(port, "POST", "/auth/refresh", headers=form, body=body)
        assert answered.status == 200, (where, answered)
        access = json.loads(answered.body)["access_token"]
        assert json.loads(request(port, "GET", "/me", headers={"Authorization": f"Bearer {access}"}).body) == {
            "sub": "served-2"
        }
        replies[where] = request(port, "POST", "/auth/refresh", headers=form, body=body)  # spent: invalid_grant
        assert replies[where].status == 400
    _alike(replies)
