"""Authentication for Starlette: an ``AuthenticationBackend`` and a ``@require`` for endpoints.

The backend follows Starlette's conventions: with ``AuthenticationMiddleware``,
``request.user`` is a :class:`PrincipalUser` (its ``principal`` attribute is the
:class:`~backendkit.auth.Principal`) and ``request.auth`` holds the token's
scopes. A request without a bearer token is left unauthenticated; a bad token or
a malformed header is raised for the error handling ``install()`` put in place,
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
    JWKS_PATH,
    BearerAuth,
    CredentialsRequired,
    Guard,
    JWKSDocument,
    JWTVerifier,
    Principal,
    bearer_token,
)
from backendkit.auth import require as requirement
from backendkit.auth._core.errors import DEFAULT_REALM
from backendkit.auth._core.publish import route_path
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
    """Bearer tokens for Starlette's ``AuthenticationMiddleware``.

    Args:
        verifier: Verifies the tokens and builds the principal.
        realm: The realm the ``WWW-Authenticate`` challenges name.
    """

    def __init__(self, verifier: JWTVerifier, *, realm: str = DEFAULT_REALM) -> None:
        self.bearer = BearerAuth(verifier, realm=realm)

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        conn.scope[_BEARER] = self.bearer
        lines = conn.headers.getlist("authorization")
        if bearer_token(lines, self.bearer.realm) is None:
            return None  # no bearer credentials: unauthenticated, for the endpoint to decide
        principal = await self.bearer.aauthenticate(lines)
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


__all__ = [
    "JWTBackend",
    "PrincipalUser",
    "check_guarded_routes",
    "current_principal",
    "jwks_endpoint",
    "jwks_routes",
    "require",
]
