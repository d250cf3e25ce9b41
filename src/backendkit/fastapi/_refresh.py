"""The refresh endpoint's route on FastAPI, and what the OpenAPI document says of it.

The endpoint is Starlette's (``backendkit.starlette.auth.refresh_endpoint``): it
reads the form itself, from the request, so FastAPI never validates it (no 422,
whose body would be neither RFC 6749's nor the envelope); the document describes
the form, the §5.1 answer, the §5.2 errors and the 503 of a store that cannot answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from backendkit.auth import TokenIssuer
from backendkit.auth._core.grant import ERRORS, FORM
from backendkit.auth._core.publish import route_path
from backendkit.auth._grant import DEFAULT_REFRESH_PATH
from backendkit.fastapi._openapi import error_responses
from backendkit.starlette.auth import refresh_endpoint

_STR: dict[str, Any] = {"type": "string"}
_GRANT = {
    "type": "object",
    "required": ["grant_type", "refresh_token"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["refresh_token"]},
        "refresh_token": {"type": "string", "description": "The refresh token, spent by this request."},
        "scope": {"type": "string", "description": "Ignored: the scope granted at the login is granted again."},
    },
}
_TOKENS = {
    "type": "object",
    "description": "RFC 6749 §5.1 token response.",
    "required": ["access_token", "token_type", "expires_in", "refresh_token"],
    "properties": {
        "access_token": _STR,
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer", "description": "Seconds the access token lives."},
        "refresh_token": {"type": "string", "description": "The next refresh token (this one is spent)."},
        "scope": {"type": "string", "description": "The scope granted, when the tokens have one."},
    },
}
_OAUTH_ERROR = {
    "type": "object",
    "description": "RFC 6749 §5.2 error response.",
    "required": ["error"],
    "properties": {"error": {"type": "string", "enum": list(ERRORS)}, "error_description": _STR},
}
_NO_STORE = {
    "Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]}},
    "Pragma": {"schema": {"type": "string", "enum": ["no-cache"]}},
}


def _responses() -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "A new access token and refresh token; the refresh token sent is spent",
            "content": {"application/json": {"schema": _TOKENS}},
            "headers": _NO_STORE,
        },
        400: {
            "description": "Not a refresh grant (invalid_request, unsupported_grant_type), or a refresh token "
            "that is not live (invalid_grant: unknown, expired, revoked or spent)",
            "content": {"application/json": {"schema": _OAUTH_ERROR}},
            "headers": _NO_STORE,
        },
        **error_responses(503),
    }


def add_refresh_route(
    router: APIRouter, issuer: TokenIssuer, *, path: str = DEFAULT_REFRESH_PATH, include_in_schema: bool = True
) -> None:
    """The POST route of the refresh endpoint, on ``router``."""
    router.add_api_route(
        route_path(path, "the refresh endpoint's path"),
        refresh_endpoint(issuer),
        methods=["POST"],
        response_class=Response,
        responses=_responses(),
        summary="A new token pair for a refresh token (RFC 6749 §6)",
        include_in_schema=include_in_schema,
        tags=["auth"],
        openapi_extra={"requestBody": {"required": True, "content": {FORM: {"schema": _GRANT}}}},
    )


def refresh_routes(
    issuer: TokenIssuer,
    *,
    path: str = DEFAULT_REFRESH_PATH,
    include_in_schema: bool = True,
    app: FastAPI | APIRouter | None = None,
) -> APIRouter:
    """The refresh endpoint at ``path`` (``/auth/refresh``), POST, as a router to include.

    A refresh grant (RFC 6749 §6: a form with ``grant_type=refresh_token`` and the
    ``refresh_token``) is answered with a new pair (§5.1) or a §5.2 error, as
    :func:`backendkit.auth.refresh_answer` decides, with ``Cache-Control: no-store``;
    a store that cannot answer is the 503 of the installed error format. With
    ``app=``, the route is added to that app (or router) itself, which is returned,
    as ``jwks_routes(document, app=app)`` does.

    Example:
        >>> from backendkit.auth import HMACKey, MemoryRefreshStore, TokenIssuer
        >>> issuer = TokenIssuer(HMACKey("a-32-byte-secret-for-this-example!"), refresh_store=MemoryRefreshStore())
        >>> app = FastAPI()
        >>> router = refresh_routes(issuer, app=app)
    """
    router = APIRouter() if app is None else app.router if isinstance(app, FastAPI) else app
    add_refresh_route(router, issuer, path=path, include_in_schema=include_in_schema)
    return router


__all__ = ["add_refresh_route", "refresh_routes"]
