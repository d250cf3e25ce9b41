"""``by_user()`` rate limits and the access log's ``user_id`` read the principal, on every framework.

Each app allows two requests a minute per user on ``/limited``: two users have two
budgets, and the third request of one user is refused while the other still passes.
A user is a token's subject or an API key's owner, alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.http import HttpRequest, JsonResponse
from django.test import Client, override_settings
from django.urls import path

from backendkit.ratelimit import Limit, SlidingWindow, by_user
from tests.auth import apps
from tests.auth.keys import token

Send = Callable[[dict[str, str]], int]


def _limit() -> Limit:
    return Limit(SlidingWindow("2/minute"), key=by_user())


def _fastapi() -> Send:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from backendkit.fastapi import install
    from backendkit.fastapi.auth import Auth
    from backendkit.fastapi.ratelimit import limit

    app = FastAPI()
    install(app)
    # Dependencies run in order: the principal first, then the limit keyed by it.
    needs = [Depends(Auth(apps.verifier(), api_keys=apps.key_verifier()).require()), Depends(limit(_limit()))]

    @app.get("/limited", dependencies=needs)
    async def limited() -> dict[str, bool]:
        return {"ok": True}

    client = TestClient(app)
    return lambda headers: client.get("/limited", headers=headers).status_code


def _flask() -> Send:
    from flask import Flask

    from backendkit.flask import BackendKit
    from backendkit.flask.auth import Auth, require
    from backendkit.flask.ratelimit import limit

    app = Flask(__name__)
    BackendKit(app)
    Auth(apps.verifier(), app, api_keys=apps.key_verifier())

    @app.get("/limited")
    @require()  # outermost: the principal first, then the limit keyed by it
    @limit(_limit())
    def limited() -> Any:
        return {"ok": True}

    client = app.test_client()
    return lambda headers: client.get("/limited", headers=headers).status_code


def _limited(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("limited", _limited)]


def _django() -> Send:
    client = Client(raise_request_exception=False)
    return lambda headers: client.get("/limited", headers=headers).status_code


def _django_settings() -> dict[str, Any]:
    middleware = [
        "backendkit.django.ErrorMiddleware",
        "backendkit.django.auth.AuthMiddleware",  # before the limits: by_user() reads the lazy principal
        "backendkit.django.ratelimit.RateLimitMiddleware",
    ]
    settings = {**apps.DJANGO_SETTINGS, "MIDDLEWARE": middleware, "ROOT_URLCONF": __name__}
    settings["BACKENDKIT"] = {**settings["BACKENDKIT"], "RATE_LIMITS": _limit()}  # (a budget per test)
    return settings


def _bearer(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub=subject)}"}


def _api_key(subject: str) -> dict[str, str]:
    return {"X-API-Key": apps.KEYS.create(subject).key}


@pytest.fixture(params=["fastapi", "flask", "django"])
def send(request: pytest.FixtureRequest) -> Iterator[Send]:
    settings = _django_settings() if request.param == "django" else {}
    with override_settings(**settings):
        yield {"fastapi": _fastapi, "flask": _flask, "django": _django}[request.param]()


@pytest.mark.parametrize("credential", [_bearer, _api_key], ids=["token", "api key"])
def test_each_user_has_a_budget_of_their_own(
    send: Send, credential: Callable[[str], dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    from backendkit.logging import JSONFormatter

    caplog.handler.setFormatter(JSONFormatter())  # the user id comes from the request's facts, as formatted
    ada, grace = credential("ada"), credential("grace")
    with caplog.at_level("INFO", logger="backendkit.access"):
        assert [send(ada) for _ in range(3)] == [200, 200, 429]
        assert [send(grace) for _ in range(2)] == [200, 200]
    lines = [json.loads(line) for line in caplog.text.splitlines()]
    users = [line.get("user_id") for line in lines if line["logger"] == "backendkit.access"]
    assert users == ["ada", "ada", "ada", "grace", "grace"]


def test_a_token_and_a_key_of_one_user_share_the_budget(send: Send) -> None:
    assert [send(_bearer("ada")), send(_api_key("ada")), send(_api_key("ada"))] == [200, 200, 429]
