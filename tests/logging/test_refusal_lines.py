"""The line a refused token leaves, as docs/auth.md promises it: ``bearer token refused: expired``.

Over every framework's test client, and over real servers on loopback. Each
reason the attack corpus reaches over HTTP is sent once; the line must say it in
words, with nothing redacted (it once read ``[REDACTED] refused: expired``), and
carry the request's id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from django.test import Client, override_settings

from tests.auth import apps
from tests.auth.corpus import CASES, Case
from tests.support.logs import LineCatcher
from tests.support.net import request as socket_request
from tests.support.servers import uvicorn_server, waitress_server

TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# One corpus token per reason that reaches the verifier (a token that is no token68
# is a malformed header, refused before any verification).
BY_REASON: dict[str, Case] = {}
for _case in CASES:
    if _case.reason is not None and TOKEN68.fullmatch(_case.make()):
        BY_REASON.setdefault(_case.reason, _case)

Send = Callable[[str], tuple[int, str]]  # token -> (status, request id)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _asgi(app: object) -> Send:
    from starlette.testclient import TestClient

    client = TestClient(app)  # type: ignore[arg-type]

    def send(token: str) -> tuple[int, str]:
        r = client.get("/me", headers=_headers(token))
        return r.status_code, r.headers["x-request-id"]

    return send


def _flask() -> Send:
    client = apps.flask_app().test_client()

    def send(token: str) -> tuple[int, str]:
        r = client.get("/me", headers=_headers(token))
        return r.status_code, r.headers["X-Request-ID"]

    return send


def _django(path: str) -> Send:
    client = Client(raise_request_exception=False)

    def send(token: str) -> tuple[int, str]:
        r = client.get(path, headers=_headers(token))
        return r.status_code, r.headers["X-Request-ID"]

    return send


def _socket(port: int) -> Send:
    def send(token: str) -> tuple[int, str]:
        reply = socket_request(port, "GET", "/me", headers=_headers(token))
        return reply.status, reply.headers["x-request-id"]

    return send


DJANGO_PATHS = {"django": "/me", "django-async": "/me-async", "django-drf": "/drf/me"}
TEST_CLIENTS = ["fastapi", "starlette", "flask", *DJANGO_PATHS]


@pytest.fixture(scope="module", params=[*TEST_CLIENTS, "fastapi-uvicorn", "flask-waitress"])
def send(request: pytest.FixtureRequest) -> Iterator[Send]:
    name = request.param
    if name in DJANGO_PATHS:
        with override_settings(**apps.DJANGO_SETTINGS):
            yield _django(DJANGO_PATHS[name])
    elif name == "fastapi-uvicorn":
        with uvicorn_server(apps.fastapi_app()) as port:
            yield _socket(port)
    elif name == "flask-waitress":
        with waitress_server(apps.flask_app()) as port:
            yield _socket(port)
    else:
        yield {"fastapi": lambda: _asgi(apps.fastapi_app()), "starlette": lambda: _asgi(apps.starlette_app())}.get(
            name, _flask
        )()


def test_the_corpus_reaches_the_reasons_worth_a_line() -> None:
    assert {"expired", "bad_signature", "wrong_audience", "wrong_issuer", "unknown_kid", "malformed"} <= set(BY_REASON)


@pytest.mark.parametrize("reason", sorted(BY_REASON))
def test_a_refused_token_is_logged_in_words(send: Send, reason: str, log_lines: LineCatcher) -> None:
    status, request_id = send(BY_REASON[reason].make())
    assert status == 401
    lines = [line for line in log_lines.lines if line["logger"] == "backendkit.auth"]
    assert [(line["message"], line["auth_reason"]) for line in lines] == [(f"bearer token refused: {reason}", reason)]
    assert (lines[0]["level"], lines[0]["request_id"]) == ("info", request_id)
    assert "[REDACTED]" not in json.dumps(lines[0])
