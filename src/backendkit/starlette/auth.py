"""Authentication for Starlette: an ``AuthenticationBackend`` and a ``@require`` for endpoints.

The backend follows Starlette's conventions: with ``AuthenticationMiddleware``,
``request.user`` is a :class:`PrincipalUser` (its ``principal`` attribute is the
:class:`~backendkit.auth.Principal`) and ``request.auth`` holds the token's
scopes. It takes access tokens (JWTs), API keys (``X-API-Key``), or both. A
request without credentials is left unauthenticated; a bad token or key, or
a malformed header, is raised for the error handling ``install()`` put in place,
so the answer is backendkit's 401 or 400 with its challenge. ``@require`` then
answers an unauthenticated request with 401 and checks the guard (403).

Example:
    >>> from starlette.applications import Starlette
    >>> from starlette.middleware import Middleware
    >>> from starlette.middleware.authentication import AuthenticationMiddleware
    >>> from backendkit.auth import HMACKey, JWTVerifier
    >>> from backendkit.starlette import install
    >>> from backendkit.starlette.auth import JWTBackend
    >>> backend = JWTBackend(JWTVerifier([HMACKey("a-32-byte-secret-for-this-example!")]))
    >>> app = Starlette(middleware=[Middleware(AuthenticationMiddleware, backend=backend)])
    >>> install(app)
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar, cast

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from backendkit.auth import (
    AUTHENTICATES,
    DEFAULT_REFRESH_PATH,
    JWKS_PATH,
    BearerAuth,
    CredentialsRequired,
    CredentialVerifier,
    Guard,
    JWKSDocument,
    JWTVerifier,
    Principal,
    TokenIssuer,
    arefresh_answer,
)
from backendkit.auth import require as requirement
from backendkit.auth._bearer import bearer_auth
from backendkit.auth._core.errors import DEFAULT_REALM
from backendkit.auth._core.publish import route_path
from backendkit.auth._grant import refreshing
from backendkit.errors import ConfigurationError

E = TypeVar("E", bound=Callable[..., Awaitable[Any]])
_BEARER = "backendkit.bearer"  # the BearerAuth, in the scope, for @require's challenges


class PrincipalUser(BaseUser):
    """Starlette's user for a verified token; ``principal`` is the whole :class:`~backendkit.auth.Principal`."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.subject

    @property
    def identity(self) -> str:
        return self.principal.subject


class JWTBackend(AuthenticationBackend):
    """Bearer credentials for Starlette's ``AuthenticationMiddleware``: access tokens (JWTs), API keys, or both.

    Args:
        verifier: Verifies the tokens and builds the principal: a ``JWTVerifier``, an
            ``APIKeyVerifier`` (API keys only), or a ``BearerAuth`` (then its own
            ``api_keys`` and ``realm`` are the ones).
        api_keys: The API key verifier, if API keys are taken (``X-API-Key``, or ``Bearer <key>``).
        realm: The realm the ``WWW-Authenticate`` challenges name.
    """

    def __init__(
        self,
        verifier: JWTVerifier | CredentialVerifier | BearerAuth | None = None,
        *,
        api_keys: CredentialVerifier | None = None,
        realm: str = DEFAULT_REALM,
    ) -> None:
        self.bearer = bearer_auth(verifier, api_keys=api_keys, realm=realm)

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        bearer = self.bearer
        conn.scope[_BEARER] = bearer
        lines = conn.headers.getlist("authorization")
        keys = conn.headers.getlist(bearer.api_key_header) if bearer.api_key_header is not None else None
        if not bearer.sent_credentials(lines, keys):
            return None  # no credentials: unauthenticated, for the endpoint to decide
        principal = await bearer.aauthenticate(lines, keys)
        return AuthCredentials(sorted(principal.scopes)), PrincipalUser(principal)


def require(
    guard: Guard | None = None,
    *,
    permissions: Iterable[str] = (),
    scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
) -> Callable[[E], E]:
    """An endpoint decorator (``async def endpoint(request)``): 401 without a principal, then the guard.

    Predicates receive the route's path parameters as ``ctx.params``. ``install()``
    refuses, when the app is built or starts, an app that routes to such an endpoint
    without ``AuthenticationMiddleware`` and :class:`JWTBackend` (see :func:`check_guarded_routes`).
    """
    checked = requirement(guard, permissions=permissions, scopes=scopes, roles=roles)

    def decorate(endpoint: E) -> E:
        @functools.wraps(endpoint)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> Any:
            bearer: BearerAuth | None = request.scope.get(_BEARER)
            user = request.scope.get("user")
            if bearer is None or not isinstance(user, PrincipalUser):
                # (no JWTBackend ran: refused at start-up by install(); without it, nobody is authenticated)
                raise CredentialsRequired(bearer.realm if bearer is not None else DEFAULT_REALM)
            await bearer.aauthorize(checked, user.principal, request.path_params, request)
            return await endpoint(request, *args, **kwargs)

        setattr(guarded, AUTHENTICATES, True)
        return cast(E, guarded)

    return decorate


def check_guarded_routes(routes: Iterable[BaseRoute], middleware: Iterable[Middleware]) -> None:
    """Raise :class:`ConfigurationError` if a route's endpoint has ``@require`` and no middleware authenticates.

    ``install()`` calls it when it is called and again when the app starts (routes and
    middleware added later are covered), so the mistake is found before any request.
    """
    if any(_authenticates(entry) for entry in middleware):
        return
    for route in _endpoints(routes):
        if getattr(route.endpoint, AUTHENTICATES, False):
            raise ConfigurationError(
                f"{route.path}: @require needs Middleware(AuthenticationMiddleware, backend=JWTBackend(verifier)) "
                "in the app's middleware (from starlette.middleware.authentication and backendkit.starlette.auth)"
            )


def _authenticates(entry: Middleware) -> bool:
    options = {**getattr(entry, "options", {}), **getattr(entry, "kwargs", {})}  # (Starlette < 0.35: options)
    backends = [options.get("backend"), *getattr(entry, "args", ())]
    factory: object = entry.cls
    return factory is AuthenticationMiddleware and any(isinstance(b, JWTBackend) for b in backends)


def _endpoints(routes: Iterable[BaseRoute]) -> Iterator[Route]:
    for route in routes:
        if isinstance(route, Route):
            yield route
        else:  # a Mount or a Host of a router (an app of its own has no routes to look into)
            yield from _endpoints(getattr(route, "routes", None) or ())


def current_principal(conn: HTTPConnection) -> Principal | None:
    """The principal ``JWTBackend`` established for this request (``None`` when it carried no token)."""
    user = conn.scope.get("user")
    return user.principal if isinstance(user, PrincipalUser) else None


def jwks_endpoint(document: JWKSDocument) -> Callable[[Request], Awaitable[Response]]:
    """The async endpoint that serves ``document``: its bytes and headers, as every framework sends them."""
    headers = dict(document.headers)

    async def jwks(request: Request) -> Response:
        return Response(document.body, headers=headers)

    return jwks


def jwks_routes(document: JWKSDocument, *, path: str = JWKS_PATH) -> list[Route]:
    """The JWK Set at ``path`` (``/.well-known/jwks.json``), GET and HEAD, to add to an app's routes.

    Example:
        >>> from starlette.applications import Starlette
        >>> from backendkit.auth import JWKSDocument, PublicKey
        >>> jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        >>> app = Starlette(routes=jwks_routes(JWKSDocument([PublicKey(jwk, alg="EdDSA", kid="k1")])))
    """
    return [Route(route_path(path), jwks_endpoint(document), methods=["GET"])]


def refresh_endpoint(issuer: TokenIssuer) -> Callable[[Request], Awaitable[Response]]:
    """The async endpoint of a refresh grant: the request's form in, ``arefresh_answer``'s answer out, as sent.

    The body is read whole (``max_body_size`` bounds it, as every body) and parsed
    by backendkit, the same bytes as on every framework.
    """
    issuer = refreshing(issuer, sync=False)

    async def refresh(request: Request) -> Response:
        body = await request.body()
        status, headers, content = await arefresh_answer(issuer, body, request.headers.get("content-type"))
        return Response(content, status_code=status, headers=dict(headers))

    return refresh


def refresh_routes(issuer: TokenIssuer, *, path: str = DEFAULT_REFRESH_PATH) -> list[Route]:
    """The refresh endpoint at ``path`` (``/auth/refresh``), POST, to add to an app's routes.

    A refresh grant (RFC 6749 §6) is answered with a new pair (§5.1) or a §5.2 error,
    with ``Cache-Control: no-store``; any other method is the installed 405.

    Example:
        >>> from starlette.applications import Starlette
        >>> from backendkit.auth import HMACKey, MemoryRefreshStore
        >>> issuer = TokenIssuer(HMACKey("a-32-byte-secret-for-this-example!"), refresh_store=MemoryRefreshStore())
        >>> app = Starlette(routes=refresh_routes(issuer))
    """
    return [Route(route_path(path, "the refresh endpoint's path"), refresh_endpoint(issuer), methods=["POST"])]


__all__ = [
    "JWTBackend",
    "PrincipalUser",
    "check_guarded_routes",
    "current_principal",
    "jwks_endpoint",
    "jwks_routes",
    "refresh_endpoint",
    "refresh_routes",
    "require",
]
