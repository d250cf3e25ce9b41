"""One small protected app per framework, configured with the corpus's keys and clock.

Each takes access tokens and API keys (``KEYS``, in memory) and serves the refresh
endpoint of ``REFRESH`` (whose access tokens it accepts): ``/me``, ``/owned/{owner}``
(an ownership predicate), ``/reports`` (a scope), ``POST /auth/refresh``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.test import Client, override_settings
from django.urls import path

from backendkit.apikeys import APIKeys, APIKeyVerifier, MemoryKeyStore
from backendkit.auth import (
    BearerAuth,
    GuardContext,
    HMACKey,
    JWTVerifier,
    MemoryRefreshStore,
    MemoryRevocations,
    Principal,
    RefreshPolicy,
    Role,
    Roles,
    TokenIssuer,
    predicate,
    require,
)
from tests.adapters.apps import Reply
from tests.auth.keys import AUDIENCE, ISSUER, NOW, SECRET, verifying_keys


def _owns(ctx: GuardContext) -> bool:
    return bool(ctx.params.get("owner") == ctx.principal.subject)


async def _owns_async(ctx: GuardContext) -> bool:
    return _owns(ctx)


OWNER_OR_ADMIN = require(permissions=["tasks:delete:any"]) | predicate(_owns)
OWNER_OR_ADMIN_ASYNC = require(permissions=["tasks:delete:any"]) | predicate(_owns_async)


REPORTS = require(scopes=["reports:read"])
REVOCATIONS = MemoryRevocations()  # the verifiers' and REFRESH's: a reused refresh token revokes its access tokens


def verifier() -> JWTVerifier:
    return JWTVerifier(verifying_keys(), issuer=ISSUER, audience=AUDIENCE, revocations=REVOCATIONS, clock=lambda: NOW)


KEY_ROLES = Roles({"admin": Role(grants=["tasks:delete:any"]), "viewer": Role(grants=["tasks:read"])})
KEYS = APIKeys(MemoryKeyStore(), prefix="bk_test_")
"""The API keys every app takes (a revocation here is seen by their verifiers at once)."""


def key_verifier() -> APIKeyVerifier:
    return KEYS.verifier(roles=KEY_ROLES)


def _ticking() -> Callable[[], float]:
    """NOW, a hundredth of a second later each time it is read (the verifiers' leeway is far larger)."""
    ticks = itertools.count(1)
    return lambda: NOW + next(ticks) / 100


REFRESH = TokenIssuer(
    HMACKey(SECRET),
    issuer=ISSUER,
    audience=AUDIENCE,
    refresh_store=MemoryRefreshStore(),
    refresh_policy=RefreshPolicy(reuse_window=0),  # any second use is a reuse, not a retry
    revocations=REVOCATIONS,
    clock=_ticking(),
)
"""The refresh endpoint's issuer on every app; its access tokens verify at NOW."""


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from backendkit.starlette import install
    from backendkit.starlette.auth import JWTBackend, refresh_routes
    from backendkit.starlette.auth import require as starlette_require

    @starlette_require()
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.identity})

    @starlette_require(OWNER_OR_ADMIN_ASYNC)
    async def owned(request: Request) -> JSONResponse:
        return JSONResponse({"deleted": request.path_params["owner"]})

    @starlette_require(REPORTS)
    async def reports(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes = [Route("/me", me), Route("/owned/{owner}", owned, methods=["DELETE"]), Route("/reports", reports)]
    backend = JWTBackend(verifier(), api_keys=key_verifier())
    app = Starlette(
        routes=[*routes, *refresh_routes(REFRESH)],
        middleware=[Middleware(AuthenticationMiddleware, backend=backend)],
    )
    install(app)
    return app


def fastapi_app() -> Any:
    from fastapi import Depends, FastAPI

    from backendkit.fastapi import install
    from backendkit.fastapi.auth import Auth, refresh_routes

    app = FastAPI()
    install(app)
    auth = Auth(verifier(), api_keys=key_verifier())
    authenticated = auth.require()

    @app.get("/me")
    async def me(principal: Principal = Depends(authenticated)) -> dict[str, str]:
        return {"sub": principal.subject}

    owner = auth.require(OWNER_OR_ADMIN)
    owner_async = auth.require(OWNER_OR_ADMIN_ASYNC)

    @app.delete("/owned/{owner}", dependencies=[Depends(owner)])
    def owned(owner: str) -> dict[str, str]:
        return {"deleted": owner}

    @app.delete("/owned-async/{owner}", dependencies=[Depends(owner_async)])
    def owned_async(owner: str) -> dict[str, str]:
        return {"deleted": owner}

    @app.get("/reports", dependencies=[Depends(auth.require(scopes=["reports:read"]))])
    def reports() -> dict[str, bool]:
        return {"ok": True}

    refresh_routes(REFRESH, app=app)
    return app


def flask_app() -> Any:
    from flask import Flask, jsonify

    from backendkit.flask import BackendKit
    from backendkit.flask.auth import Auth, current_principal, refresh_routes
    from backendkit.flask.auth import require as flask_require

    app = Flask(__name__)
    BackendKit(app)
    Auth(verifier(), app, api_keys=key_verifier())
    app.register_blueprint(refresh_routes(REFRESH))

    @app.get("/me")
    @flask_require()
    def me() -> Any:
        return jsonify(sub=current_principal.subject)

    @app.delete("/owned/<owner>")
    @flask_require(OWNER_OR_ADMIN)
    def owned(owner: str) -> Any:
        return jsonify(deleted=owner)

    @app.delete("/owned-async/<owner>")
    @flask_require(OWNER_OR_ADMIN_ASYNC)
    async def owned_async(owner: str) -> Any:
        return jsonify(deleted=owner)

    @app.get("/reports")
    @flask_require(REPORTS)
    def reports() -> Any:
        return jsonify(ok=True)

    return app


DJANGO_VERIFIER = BearerAuth(verifier(), api_keys=key_verifier())


def _django_me(request: HttpRequest) -> JsonResponse:
    from backendkit.django.auth import authenticate

    return JsonResponse({"sub": authenticate(request).subject})


async def _django_me_async(request: HttpRequest) -> JsonResponse:
    from backendkit.django.auth import aauthenticate

    return JsonResponse({"sub": (await aauthenticate(request)).subject})


def _django_owned(request: HttpRequest, owner: str) -> JsonResponse:
    return JsonResponse({"deleted": owner})


async def _django_owned_async(request: HttpRequest, owner: str) -> JsonResponse:
    return JsonResponse({"deleted": owner})


def _django_reports(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def _django_lazy(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sub": request.principal.subject})  # type: ignore[attr-defined]


def _drf_views() -> tuple[Any, Any, Any]:
    from rest_framework.renderers import JSONRenderer
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from backendkit.django.drf import JWTAuthentication, Require

    class Me(APIView):
        authentication_classes = (JWTAuthentication,)
        permission_classes = (Require(),)
        renderer_classes = (JSONRenderer,)

        def get(self, request: Any) -> Response:
            return Response({"sub": request.auth.subject})

    class Owned(APIView):
        authentication_classes = (JWTAuthentication,)
        permission_classes = (Require(OWNER_OR_ADMIN),)
        renderer_classes = (JSONRenderer,)

        def delete(self, request: Any, owner: str) -> Response:
            return Response({"deleted": owner})

    class Reports(APIView):
        authentication_classes = (JWTAuthentication,)
        permission_classes = (Require(REPORTS),)
        renderer_classes = (JSONRenderer,)

        def get(self, request: Any) -> Response:
            return Response({"ok": True})

    return Me.as_view(), Owned.as_view(), Reports.as_view()


def _protected() -> list[Any]:
    from backendkit.django.auth import refresh_routes
    from backendkit.django.auth import require as django_require

    drf_me, drf_owned, drf_reports = _drf_views()
    return [
        *refresh_routes(REFRESH),
        *refresh_routes(REFRESH, path="/auth/refresh-async", asynchronous=True),
        path("drf/me", drf_me),
        path("drf/owned/<str:owner>", drf_owned),
        path("drf/reports", drf_reports),
        path("reports", django_require(REPORTS)(_django_reports)),
        path("me", django_require()(_django_me)),
        path("me-async", django_require()(_django_me_async)),
        path("lazy", _django_lazy),
        path("owned/<str:owner>", django_require(OWNER_OR_ADMIN)(_django_owned)),
        path("owned-async/<str:owner>", django_require(OWNER_OR_ADMIN_ASYNC)(_django_owned_async)),
    ]


urlpatterns = _protected()
DJANGO_SETTINGS = {
    "ROOT_URLCONF": "tests.auth.apps",
    "BACKENDKIT": {"AUTH": DJANGO_VERIFIER},
    "MIDDLEWARE": ["backendkit.django.ErrorMiddleware", "backendkit.django.auth.AuthMiddleware"],
    # A project without django.contrib.auth: DRF's anonymous user is then None.
    "REST_FRAMEWORK": {"UNAUTHENTICATED_USER": None},
}


Send = Callable[..., Reply]
"""``send(method, path, headers=None, body=None)``: the app's reply."""
FRAMEWORKS = ["fastapi", "starlette", "flask", "django"]


def _joined(items: Any) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _asgi(app: Any) -> Send:
    from starlette.testclient import TestClient

    client = TestClient(app)

    def send(method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> Reply:
        got = client.request(method, url, headers=headers or {}, content=body)
        return Reply(got.status_code, _joined(got.headers.multi_items()), got.content)

    return send


def _flask() -> Send:
    client = flask_app().test_client()

    def send(method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> Reply:
        got = client.open(url, method=method, headers=headers or {}, data=body)
        return Reply(got.status_code, _joined(got.headers.items()), got.get_data())

    return send


@contextmanager
def clients(framework: str) -> Iterator[Send]:
    """A way to send requests to this module's app of ``framework``, while it is configured."""
    if framework != "django":
        yield {"fastapi": lambda: _asgi(fastapi_app()), "starlette": lambda: _asgi(starlette_app()), "flask": _flask}[
            framework
        ]()
        return
    with override_settings(**DJANGO_SETTINGS):
        client = Client(raise_request_exception=False)

        def send(method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> Reply:
            headers = dict(headers or {})
            content_type = headers.pop("Content-Type", "")  # (the test client sends one whatever happens)
            got = client.generic(method, url, data=body or b"", content_type=content_type, headers=headers)
            return Reply(got.status_code, _joined(got.headers.items()), got.content)

        yield send


def status_and_json(reply: Reply) -> tuple[int, Any]:
    return reply.status, json.loads(reply.body)
