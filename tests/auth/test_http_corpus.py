"""The attack corpus over HTTP on FastAPI, Flask and Django (sync and async views): 401 ``invalid_token`` alike."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from django.test import Client, override_settings

from tests.auth import apps
from tests.auth.corpus import CASES, Case

INVALID_TOKEN = (
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid or has expired."'
)
TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
Send = Callable[[str], tuple[int, dict[str, str], dict[str, object]]]


def _fastapi() -> Send:
    from fastapi.testclient import TestClient

    client = TestClient(apps.fastapi_app())

    def send(token: str) -> tuple[int, dict[str, str], dict[str, object]]:
        r = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        return r.status_code, dict(r.headers), r.json()

    return send


def _flask() -> Send:
    client = apps.flask_app().test_client()

    def send(token: str) -> tuple[int, dict[str, str], dict[str, object]]:
        r = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_json()

    return send


def _django(path: str) -> Send:
    client = Client(raise_request_exception=False)

    def send(token: str) -> tuple[int, dict[str, str], dict[str, object]]:
        r = client.get(path, headers={"Authorization": f"Bearer {token}"})
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, json.loads(r.content)

    return send


def _starlette() -> Send:
    from starlette.testclient import TestClient

    client = TestClient(apps.starlette_app())

    def send(token: str) -> tuple[int, dict[str, str], dict[str, object]]:
        r = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        return r.status_code, dict(r.headers), r.json()

    return send


DJANGO_PATHS = {"django": "/me", "django-async": "/me-async", "django-drf": "/drf/me"}


@pytest.fixture(scope="module", params=["fastapi", "starlette", "flask", *DJANGO_PATHS])
def send(request: pytest.FixtureRequest) -> Iterator[Send]:
    if request.param in DJANGO_PATHS:
        with override_settings(**apps.DJANGO_SETTINGS):
            yield _django(DJANGO_PATHS[request.param])
        return
    yield {"fastapi": _fastapi, "flask": _flask, "starlette": _starlette}[request.param]()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_corpus_over_http(send: Send, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    token = case.make()
    with caplog.at_level("INFO", logger="backendkit.auth"):
        status, headers, body = send(token)
    reasons = [getattr(r, "auth_reason", None) for r in caplog.records if r.name == "backendkit.auth"]
    if case.reason is None:
        assert (status, body) == (200, {"sub": "user-1"})
        assert reasons == []
        return
    if TOKEN68.fullmatch(token) is None:
        # Not one token68 (empty, spaces, JSON, '=' inside): the header itself is malformed.
        assert status == 400, (case.name, body)
        assert headers["www-authenticate"] == 'Bearer realm="api", error="invalid_request"'
        assert body["error"]["code"] == "INVALID_REQUEST"  # type: ignore[index]
        return
    assert status == 401, (case.name, body)
    assert reasons == [case.reason]  # refused for the reason the core gives, logged once
    assert headers["www-authenticate"] == INVALID_TOKEN
    assert body["error"] == {  # type: ignore[comparison-overlap]
        "code": "INVALID_TOKEN",
        "message": "The access token is invalid or has expired.",
        "request_id": body["error"]["request_id"],  # type: ignore[index]
    }
