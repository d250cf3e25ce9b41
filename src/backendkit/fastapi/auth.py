"""Authentication for FastAPI: dependencies that return the :class:`~backendkit.auth.Principal`.

The dependencies sit on an HTTP bearer security scheme, so the OpenAPI document
shows it (``bearerFormat: JWT``), with the scopes a route requires; ``install()``
documents the 400, 401 and 403 each protected route can send, in the error schema.

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

from fastapi import Request, Security
from fastapi.security import HTTPBearer

from backendkit.auth import BearerAuth, Guard, JWTVerifier, Principal, require
from backendkit.auth._errors import DEFAULT_REALM
from backendkit.fastapi._openapi import AUTH_SCOPES, AUTH_STATUSES


class _Scheme(HTTPBearer):
    """The HTTP bearer scheme, for the OpenAPI document; the header is read by backendkit's own rules."""

    async def __call__(self, request: Request) -> list[str]:  # type: ignore[override]
        return request.headers.getlist("authorization")


class Auth:
    """Bearer authentication for a FastAPI app.

    Args:
        verifier: Verifies the tokens and builds the principal.
        realm: The realm the ``WWW-Authenticate`` challenges name.
        scheme_name: The security scheme's name in the OpenAPI document.
    """

    def __init__(self, verifier: JWTVerifier, *, realm: str = DEFAULT_REALM, scheme_name: str = "bearerAuth") -> None:
        self.bearer = BearerAuth(verifier, realm=realm)
        self.scheme = _Scheme(
            bearerFormat="JWT",
            scheme_name=scheme_name,
            description="An access token (JWT) in the Authorization header: `Bearer <token>`.",
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

        ``Depends(auth.require())`` needs only a valid token. Predicates in ``guard``
        receive the route's path parameters as ``ctx.params`` and the
        ``Request`` as ``ctx.request``; they may be async.
        """
        scopes, permissions, roles = list(scopes), list(permissions), list(roles)
        checked = require(guard, permissions=permissions, scopes=scopes, roles=roles)
        bearer = self.bearer
        can_deny = guard is not None or bool(scopes or permissions or roles)

        async def authenticated(
            request: Request, authorization: list[str] = Security(self.scheme, scopes=scopes)
        ) -> Principal:
            principal = await bearer.aauthenticate(authorization)
            await bearer.aauthorize(checked, principal, request.path_params, request)
            request.scope["backendkit.principal"] = principal
            return principal

        setattr(authenticated, AUTH_STATUSES, (400, 401, 403) if can_deny else (400, 401))
        setattr(authenticated, AUTH_SCOPES, [(self.scheme.scheme_name, scope) for scope in scopes])
        return authenticated


def current_principal(request: Request) -> Principal | None:
    """The principal an auth dependency of this request has established, if any."""
    principal: Principal | None = request.scope.get("backendkit.principal")
    return principal


__all__ = ["Auth", "current_principal"]
