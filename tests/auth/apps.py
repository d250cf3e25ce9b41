"""One small protected app per framework, configured with the corpus's keys and clock."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

from backendkit.auth import BearerAuth, GuardContext, JWTVerifier, MemoryRevocations, Principal, predicate, require
from tests.auth.keys import AUDIENCE, ISSUER, NOW, verifying_keys


def _owns(ctx: GuardContext) -> bool:
    return bool(ctx.params.get("owner") == ctx.principal.subject)


async def _owns_async(ctx: GuardContext) -> bool:
    return _owns(ctx)


OWNER_OR_ADMIN = require(permissions=["tasks:delete:any"]) | predicate(_owns)
OWNER_OR_ADMIN_ASYNC = require(permissions=["tasks:delete:any"]) | predicate(_owns_async)


def verifier() -> JWTVerifier:
    return JWTVerifier(
        verifying_keys(), issuer=ISSUER, audience=AUDIENCE, revocations=MemoryRevocations(), clock=lambda: NOW
    )


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from backendkit.starlette import install
    from backendkit.starlette.auth import JWTBackend
    from backendkit.starlette.auth import require as starlette_require

    @starlette_require()
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.identity})

    @starlette_require(OWNER_OR_ADMIN_ASYNC)
    async def owned(request: Request) -> JSONResponse:
        return JSONResponse({"deleted": request.path_params["owner"]})

    routes = [Route("/me", me), Route("/owned/{owner}", owned, methods=["DELETE"])]
    app = Starlette(routes=routes, middleware=[Middleware(AuthenticationMiddleware, backend=JWTBackend(verifier()))])
    install(app)
    return app


def fastapi_app() -> Any:
    from fastapi import Depends, FastAPI

    from backendkit.fastapi import install
    from backendkit.fastapi.auth import Auth

    app = FastAPI()
    install(app)
    auth = Auth(verifier())
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

    return app


def flask_app() -> Any:
    from flask import Flask, jsonify

    from backendkit.flask import BackendKit
    from backendkit.flask.auth import Auth, current_principal
    from backendkit.flask.auth import require as flask_require

    app = Flask(__name__)
    BackendKit(app)
    Auth(verifier(), app)

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

    return app


DJANGO_VERIFIER = BearerAuth(verifier())


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


def _django_lazy(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sub": request.principal.subject})  # type: ignore[attr-defined]


def _drf_views() -> tuple[Any, Any]:
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

    return Me.as_view(), Owned.as_view()


def _protected() -> list[Any]:
    from backendkit.django.auth import require as django_require

    drf_me, drf_owned = _drf_views()
    return [
        path("drf/me", drf_me),
        path("drf/owned/<str:owner>", drf_owned),
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
