"""A ``ConfigurationError`` is raised when the app is built, installed or started, never per request.

Each test builds an app with the mistake where the check used to run per request: the error
comes at build (or start-up), and an app the check cannot see answers its requests without a 500.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
from django.test import override_settings
from django.urls import path

from backendkit.errors import ConfigurationError
from tests.auth.apps import verifier
from tests.auth.keys import token


def test_fastapi_rate_limits_without_install_answer_in_fastapis_own_shape() -> None:
    # Once a ConfigurationError on every request. Nothing of backendkit's runs when such an app
    # is built, so nothing could refuse it then: the dependency answers by itself instead.
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from backendkit.fastapi.ratelimit import limit

    app = FastAPI()

    @app.get("/search", dependencies=[Depends(limit("1/minute"))])
    async def search() -> dict[str, bool]:
        return {"ok": True}

    client = TestClient(app, raise_server_exceptions=False)
    allowed, refused = client.get("/search"), client.get("/search")
    assert (allowed.status_code, refused.status_code) == (200, 429)
    assert refused.json() == {"detail": "Too many requests."}
    assert "ratelimit" in allowed.headers
    assert "ratelimit" in refused.headers
    assert int(refused.headers["retry-after"]) >= 1


def _guarded_starlette(*, middleware: list[Any] | None = None) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from backendkit.starlette.auth import require

    @require()
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.identity})

    return Starlette(routes=[Mount("/api", routes=[Route("/me", me)])], middleware=middleware or [])


def test_starlette_require_without_authentication_is_refused_at_install() -> None:
    from backendkit.starlette import install

    with pytest.raises(ConfigurationError, match="/me: @require needs Middleware"):
        install(_guarded_starlette())


def test_starlette_require_without_authentication_is_refused_at_start_up() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from backendkit.starlette import install

    app = Starlette()
    install(app)
    app.routes.append(Mount("/later", routes=_guarded_starlette().routes))  # added after install()
    with pytest.raises(ConfigurationError, match="@require needs Middleware"), TestClient(app):
        pass


def test_starlette_require_seen_by_no_check_answers_401_not_500() -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from backendkit.starlette import install

    app = Starlette()
    install(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        app.routes.extend(_guarded_starlette().routes)  # once the app runs: no check sees it
        bearer = {"Authorization": f"Bearer {token(sub='ada')}"}
        replies = [client.get("/api/me", headers=bearer), client.get("/api/me")]
    assert [reply.status_code for reply in replies] == [401, 401]  # nobody authenticated: refused, not a 500
    assert replies[0].json()["error"]["code"] == "UNAUTHORIZED"


def test_settings_an_asgi_app_composes_itself_are_refused_at_install() -> None:
    from fastapi import FastAPI
    from starlette.applications import Starlette

    from backendkit.asgi import ErrorMiddleware
    from backendkit.fastapi import install as install_fastapi
    from backendkit.starlette import install as install_starlette

    with pytest.raises(ConfigurationError, match="auth is a setting of the Flask and Django adapters"):
        install_fastapi(FastAPI(), auth=verifier())
    with pytest.raises(ConfigurationError, match="IdempotencyMiddleware"):
        install_starlette(Starlette(), idempotency=object())
    with pytest.raises(ConfigurationError, match="RateLimitMiddleware"):
        ErrorMiddleware(Starlette(), rate_limits=object())


def test_flask_settings_of_the_wrong_kind_are_refused_at_init_app() -> None:
    from flask import Flask

    from backendkit.flask import BackendKit

    refusals = (("AUTH", "JWTVerifier, an APIKeyVerifier or a BearerAuth"), ("IDEMPOTENCY", "must be an Idempotency"))
    for key, says in refusals:
        app = Flask(__name__)
        app.config[f"BACKENDKIT_{key}"] = "myproject.auth.verifier"  # (Flask takes objects, not paths)
        with pytest.raises(ConfigurationError, match=says):
            BackendKit(app)


def _django_guarded(request: Any) -> Any:
    raise AssertionError("never reached")


def test_django_require_without_the_auth_setting_is_reported_at_start_up() -> None:
    from django.core import checks

    from backendkit.django.auth import require

    urlconf = types.ModuleType("guarded_urls")
    urlconf.urlpatterns = [path("api/me", require()(_django_guarded))]  # type: ignore[attr-defined]
    with override_settings(ROOT_URLCONF=urlconf, BACKENDKIT={}):
        assert "backendkit.E006" in [m.id for m in checks.run_checks()]
    with override_settings(ROOT_URLCONF=urlconf, BACKENDKIT={"AUTH": verifier()}):
        assert "backendkit.E006" not in [m.id for m in checks.run_checks()]


def test_django_settings_whose_middleware_is_missing_are_reported_at_start_up() -> None:
    from django.core import checks

    from backendkit.idempotency import Idempotency, MemoryStore
    from backendkit.ratelimit import Limit

    settings = {"RATE_LIMITS": Limit("5/minute"), "IDEMPOTENCY": Idempotency(MemoryStore())}
    with override_settings(BACKENDKIT=settings, MIDDLEWARE=["backendkit.django.ErrorMiddleware"]):
        messages = [m for m in checks.run_checks() if m.id == "backendkit.E005"]
    assert sorted(m.msg.split('"')[1] for m in messages) == ["IDEMPOTENCY", "RATE_LIMITS"]


# Flask: nothing of backendkit runs when views are added, so a missing extension or Auth is
# found by the first request that needs it. That request, and every one after, gets a defined
# answer (never a 500), and the missing piece is logged once per app.


def test_flask_limit_without_the_extension_limits_and_refuses_in_the_envelope(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flask import Flask

    from backendkit.flask.ratelimit import limit

    app = Flask(__name__)

    @app.get("/one")
    @limit("2/minute")
    def one() -> dict[str, bool]:
        return {"ok": True}

    client = app.test_client()
    with caplog.at_level("ERROR", logger="backendkit.errors"):
        answers = [client.get("/one") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    assert answers[0].headers["RateLimit"].startswith('"2-per-60s";r=1;')  # the fields, as with the extension
    assert answers[0].headers["RateLimit-Policy"] == '"2-per-60s";q=2;w=60'
    refused = answers[2]
    assert refused.get_json()["error"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["RateLimit"].startswith('"2-per-60s";r=0;')
    missing = [r for r in caplog.records if "BackendKit extension is not on this app" in r.getMessage()]
    assert len(missing) == 1  # once per app, not once per request


def test_flask_require_without_auth_refuses_401_never_500(caplog: pytest.LogCaptureFixture) -> None:
    from flask import Flask

    from backendkit.flask import BackendKit
    from backendkit.flask.auth import require

    for with_extension in (True, False):
        app = Flask(__name__)
        if with_extension:
            BackendKit(app)

        @app.get("/mine")
        @require(roles=["admin"])
        def mine() -> dict[str, bool]:
            return {"ok": True}

        client = app.test_client()
        caplog.clear()
        with caplog.at_level("ERROR", logger="backendkit.errors"):
            answers = [
                client.get("/mine"),
                client.get("/mine", headers={"Authorization": f"Bearer {token(roles=['admin'])}"}),
            ]
        for answer in answers:
            assert answer.status_code == 401, with_extension
            assert answer.get_json()["error"]["code"] == "UNAUTHORIZED"
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        said = [r.getMessage() for r in caplog.records if "Auth is not on the app" in r.getMessage()]
        assert len(said) == 1, with_extension
