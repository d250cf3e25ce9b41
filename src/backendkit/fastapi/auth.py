"""Authentication for FastAPI: dependencies that return the :class:`~backendkit.auth.Principal`.

The dependencies sit on an HTTP bearer security scheme, so the OpenAPI document
shows it (``bearerFormat: JWT``), with the scopes a route requires; with API keys
on, an ``apiKey`` scheme (the ``X-API-Key`` header) too, each protected operation
listing the two as alternatives. ``install()`` documents the 400, 401 and 403 each
protected route can send, in the error schema. :func:`refresh_routes` serves the
refresh grant of a :class:`~backendkit.auth.TokenIssuer`.

Example:
    >>> from typing import Annotated
    >>> from fastapi import Depends, FastAPI
    >>> from backendkit.auth import HMACKey, JWTVerifier, Principal
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.auth import Auth
    >>> auth = Auth(JWTVerifier([HMACKey("a-32-byte-secret-for-this-example!")]))
    >>> app = FastAPI()
    >>> install(app)
    >>> @app.get("/me")
    ... async def me(principal: Annotated[Principal, Depends(auth.require())]) -> dict[str, str]:
    ...     return {"sub": principal.subject}
"""

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Security
from fastapi.responses import Response
from fastapi.security import APIKeyHeader, HTTPBearer

from backendkit._deprecation import renamed
from backendkit.auth import (
    JWKS_PATH,
    BearerAuth,
    CredentialVerifier,
    Guard,
    JWKSDocument,
    JWTVerifier,
    Principal,
    require,
)
from backendkit.auth._bearer import bearer_auth
from backendkit.auth._core.errors import DEFAULT_REALM
from backendkit.auth._core.publish import route_path
from backendkit.fastapi._openapi import AUTH_SCOPES, AUTH_STATUSES
from backendkit.fastapi._refresh import refresh_routes
from backendkit.starlette.auth import jwks_endpoint

_JWK = {
    "type": "object",
    "required": ["kty", "kid", "alg", "use"],
    "properties": {
        "kty": {"type": "string", "enum": ["RSA", "EC", "OKP"]},
        "kid": {"type": "string"},
        "alg": {"type": "string"},
        "use": {"type": "string", "enum": ["sig"]},
        "n": {"type": "string", "description": "RSA modulus, base64url"},
        "e": {"type": "string", "description": "RSA exponent, base64url"},
        "crv": {"type": "string", "enum": ["P-256", "P-384", "P-521", "Ed25519", "Ed448"]},
        "x": {"type": "string", "description": "EC x coordinate or OKP public key, base64url"},
        "y": {"type": "string", "description": "EC y coordinate, base64url"},
    },
}


class _Scheme(HTTPBearer):
    """The HTTP bearer scheme, for the OpenAPI document; the header is read by backendkit's own rules."""

    async def __call__(self, request: Request) -> list[str]:  # type: ignore[override]
        return request.headers.getlist("authorization")


class _KeyScheme(APIKeyHeader):
    """The API key header's scheme, for the OpenAPI document; every line of the header is read, as above."""

    async def __call__(self, request: Request) -> list[str]:  # type: ignore[override]
        return request.headers.getlist(self.model.name)


def _bearer_description(bearer: BearerAuth) -> str:
    if bearer.verifier is None:
        return "An API key in the Authorization header: `Bearer <key>`."
    if bearer.api_keys is not None and bearer.api_keys_as_bearer:
        return "An access token (JWT), or an API key, in the Authorization header: `Bearer <token>`."
    return "An access token (JWT) in the Authorization header: `Bearer <token>`."


class Auth:
    """Bearer authentication for a FastAPI app: access tokens (JWTs), API keys, or both.

    Args:
        verifier: Verifies the tokens and builds the principal: a ``JWTVerifier``, an
            ``APIKeyVerifier`` (API keys only), or a ``BearerAuth`` (then its own
            ``api_keys`` and ``realm`` are the ones).
        api_keys: The API key verifier (``APIKeys(...).verifier()``), if API keys are taken:
            in the ``X-API-Key`` header, or as ``Authorization: Bearer <key>``.
        realm: The realm the ``WWW-Authenticate`` challenges name.
        scheme_name: The bearer security scheme's name in the OpenAPI document.
        api_key_scheme_name: The API key scheme's name there (documented when API keys are taken).
    """

    def __init__(
        self,
        verifier: JWTVerifier | CredentialVerifier | BearerAuth | None = None,
        *,
        api_keys: CredentialVerifier | None = None,
        realm: str = DEFAULT_REALM,
        scheme_name: str = "bearerAuth",
        api_key_scheme_name: str = "apiKeyAuth",
    ) -> None:
        self.bearer = bearer_auth(verifier, api_keys=api_keys, realm=realm)
        self.scheme = _Scheme(
            bearerFormat="JWT" if self.bearer.verifier is not None else None,
            scheme_name=scheme_name,
            description=_bearer_description(self.bearer),
            auto_error=False,
        )
        header = self.bearer.api_key_header
        self.api_key_scheme: _KeyScheme | None = None
        if header is not None:
            self.api_key_scheme = _KeyScheme(
                name=header,
                scheme_name=api_key_scheme_name,
                description=f"An API key in the {header} header.",
                auto_error=False,
            )

    def require(
        self,
        guard: Guard | None = None,
        *,
        permissions: Iterable[str] = (),
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
    ) -> Callable[..., Awaitable[Principal]]:
        """A dependency that authenticates, checks ``guard`` (or the listed requirements), and returns the principal.

        ``Depends(auth.require())`` needs only a valid token or key. Predicates in ``guard``
        receive the route's path parameters as ``ctx.params`` and the
        ``Request`` as ``ctx.request``; they may be async. With API keys on, the
        operation lists the bearer scheme and the API key scheme as alternatives.
        """
        scopes, permissions, roles = list(scopes), list(permissions), list(roles)
        checked = require(guard, permissions=permissions, scopes=scopes, roles=roles)
        bearer = self.bearer
        can_deny = guard is not None or bool(scopes or permissions or roles)

        async def authenticate(request: Request, authorization: list[str], api_key: list[str] | None) -> Principal:
            # Verified once per request and verifier, however many of its dependencies a route has
            # (a router's and the route's own): one verification, one count, one span.
            verified = request.scope.setdefault("backendkit.verified", {})
            principal: Principal | None = verified.get(id(bearer))
            if principal is None:
                principal = verified[id(bearer)] = await bearer.aauthenticate(authorization, api_key)
            await bearer.aauthorize(checked, principal, request.path_params, request)
            request.scope["backendkit.principal"] = principal
            return principal

        key_scheme = self.api_key_scheme
        authenticated: Callable[..., Awaitable[Principal]]
        if key_scheme is None:

            async def with_token(
                request: Request, authorization: list[str] = Security(self.scheme, scopes=scopes)
            ) -> Principal:
                return await authenticate(request, authorization, None)

            authenticated = with_token
        else:

            async def with_token_or_key(  # (two security dependencies: the operation lists both, either will do)
                request: Request,
                authorization: list[str] = Security(self.scheme, scopes=scopes),
                api_key: list[str] = Security(key_scheme, scopes=scopes),
            ) -> Principal:
                return await authenticate(request, authorization, api_key)

            authenticated = with_token_or_key
        setattr(authenticated, AUTH_STATUSES, (400, 401, 403) if can_deny else (400, 401))
        schemes = [self.scheme.scheme_name] + ([key_scheme.scheme_name] if key_scheme is not None else [])
        setattr(authenticated, AUTH_SCOPES, [(scheme, scope) for scheme in schemes for scope in scopes])
        return authenticated


def current_principal(request: Request) -> Principal | None:
    """The principal an auth dependency of this request has established, if any."""
    principal: Principal | None = request.scope.get("backendkit.principal")
    return principal


def _jwks_responses(document: JWKSDocument) -> dict[int | str, dict[str, Any]]:
    media_type, cache_control = (value for _, value in document.headers)
    schema = {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": _JWK}}}
    return {
        200: {
            "description": "The JWK Set (RFC 7517) of the public keys that verify this service's tokens",
            "content": {media_type: {"schema": schema, "example": {"keys": list(document.keys)}}},
            "headers": {"Cache-Control": {"schema": {"type": "string", "example": cache_control}}},
        }
    }


def _add_jwks_routes(
    app: FastAPI | APIRouter, document: JWKSDocument, *, path: str = JWKS_PATH, include_in_schema: bool = True
) -> None:
    """Serve ``document`` on ``app`` itself (the deprecated ``add_jwks_routes``: ``jwks_routes(document, app=app)``)."""
    router = app.router if isinstance(app, FastAPI) else app
    path = route_path(path)
    endpoint = jwks_endpoint(document)
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        response_class=Response,
        responses=_jwks_responses(document),
        summary="The public keys that verify this service's tokens",
        include_in_schema=include_in_schema,
        tags=["auth"],
    )
    # HEAD too, as on Starlette, Flask and Django (with or without install()); out of the document, as install()'s.
    router.add_api_route(
        path, jwks_endpoint(document), methods=["HEAD"], response_class=Response, include_in_schema=False
    )


def jwks_routes(
    document: JWKSDocument,
    *,
    path: str = JWKS_PATH,
    include_in_schema: bool = True,
    app: FastAPI | APIRouter | None = None,
) -> APIRouter:
    """The JWK Set at ``path`` (``/.well-known/jwks.json``), GET and HEAD, as a router to include.

    The OpenAPI document gives the GET its media type, the JWK Set's schema, the
    published keys as the example and the ``Cache-Control`` header. With ``app=``, the
    routes are added to that app (or router) itself, which is returned, as
    ``health_routes(health, app=app)`` does (an included router is kept whole by FastAPI
    0.165: its routes cost more per request, and its 405 lists only its own methods).

    Example:
        >>> from backendkit.auth import JWKSDocument, PublicKey
        >>> jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        >>> app = FastAPI()
        >>> app.include_router(jwks_routes(JWKSDocument([PublicKey(jwk, alg="EdDSA", kid="k1")])))
    """
    router = APIRouter() if app is None else app.router if isinstance(app, FastAPI) else app
    _add_jwks_routes(router, document, path=path, include_in_schema=include_in_schema)
    return router


__all__ = ["Auth", "current_principal", "jwks_routes", "refresh_routes"]
__getattr__ = renamed(
    __name__,
    {
        "add_jwks_routes": ("jwks_routes(document, app=app)", _add_jwks_routes),
        "jwks_router": ("jwks_routes", jwks_routes),
    },
)
