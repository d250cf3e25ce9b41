"""Authentication for Flask: the ``Auth`` extension, the ``@require`` decorator and ``current_principal``.

Example:
    >>> from flask import Flask
    >>> from backendkit.auth import HMACKey, JWTVerifier
    >>> from backendkit.flask import BackendKit
    >>> from backendkit.flask.auth import Auth, current_principal, require
    >>> app = Flask(__name__)
    >>> extension = BackendKit(app)
    >>> auth = Auth(JWTVerifier([HMACKey("a-32-byte-secret-for-this-example!")]), app)
    >>> @app.get("/me")
    ... @require()
    ... def me():
    ...     return {"sub": current_principal.subject}
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from inspect import iscoroutinefunction
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.local import LocalProxy

from backendkit._deprecation import renamed
from backendkit.auth import (
    AUTHENTICATES,
    DEFAULT_REFRESH_PATH,
    JWKS_PATH,
    BearerAuth,
    CredentialVerifier,
    Guard,
    JWKSDocument,
    JWTVerifier,
    Principal,
    TokenIssuer,
    refresh_answer,
)
from backendkit.auth import require as requirement
from backendkit.auth._bearer import bearer_auth
from backendkit.auth._core.errors import DEFAULT_REALM, CredentialsRequired
from backendkit.auth._core.publish import route_path
from backendkit.auth._grant import refreshing
from backendkit.context import get_request_facts
from backendkit.errors import ConfigurationError
from backendkit.flask._state import refuse, report_missing, state_of

F = TypeVar("F", bound=Callable[..., Any])
EXTENSION = "backendkit.auth"  # the key of the BearerAuth in app.extensions


class Auth:
    """Bearer authentication for a Flask app: access tokens (JWTs), API keys, or both; install ``BackendKit`` first.

    Follows Flask's extension pattern: ``Auth(verifier, app)``, or ``Auth(verifier)``
    and ``init_app(app)`` in an app factory. Nothing is kept on the extension object.
    The ``BACKENDKIT_AUTH`` config key (a ``JWTVerifier``, an ``APIKeyVerifier`` or a
    ``BearerAuth``) installs one too, and names each request's user from its token or
    key (see :func:`name_every_user`).

    Args:
        verifier: A ``JWTVerifier``, an ``APIKeyVerifier`` (API keys only), or a
            ``BearerAuth`` (then its own ``api_keys`` and ``realm`` are the ones).
        app: The app to install it on now.
        api_keys: The API key verifier, if API keys are taken (``X-API-Key``, or ``Bearer <key>``).
        realm: The realm the ``WWW-Authenticate`` challenges name.
    """

    def __init__(
        self,
        verifier: JWTVerifier | CredentialVerifier | BearerAuth | None = None,
        app: Flask | None = None,
        *,
        api_keys: CredentialVerifier | None = None,
        realm: str = DEFAULT_REALM,
    ) -> None:
        self._bearer = bearer_auth(verifier, api_keys=api_keys, realm=realm)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Make ``@require`` work on ``app``'s views."""
        state_of(app, needed_by="backendkit.flask.auth.Auth")  # errors must be rendered by backendkit
        if not self._bearer.checks_sync:
            raise ConfigurationError("Flask views verify synchronously: use RedisRevocations, not the async one")
        if EXTENSION in app.extensions:
            raise RuntimeError("backendkit's Auth is already installed on this application")
        app.extensions[EXTENSION] = self._bearer


def _bearer() -> BearerAuth:
    bearer: BearerAuth | None = current_app.extensions.get(EXTENSION)
    if bearer is None:
        # Nothing of backendkit runs when the views are added, so this is found on a request: no one
        # can be authenticated, and the request is refused as one without credentials (never a 500).
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        report_missing(
            app,
            "@require is on a view but backendkit.flask.auth.Auth is not on the app: every "
            "request to it is refused 401; add Auth(verifier).init_app(app) or BACKENDKIT_AUTH",
        )
        refuse(CredentialsRequired(DEFAULT_REALM))
    return bearer


def name_every_user(app: Flask) -> None:
    """Name every request's user from its token or API key, as Django's ``AuthMiddleware`` does.

    The request's ``user_id`` (the access log, ``by_user()`` rate limits, idempotency
    scopes) is the subject of a valid token (the owner of a valid key), verified when
    first read and once per request; a missing or refused credential names no one
    here, and ``@require`` answers it. The ``BACKENDKIT_AUTH`` config key turns this on with the ``Auth``.
    """

    def lazily() -> None:
        facts = get_request_facts()
        if facts is not None:
            facts.user_id = _subject_or_none

    # After the extension's first hook (which binds the facts), before every before_request hook.
    app.url_value_preprocessors.setdefault(None, []).append(lambda endpoint, values: lazily())


def _credentials(bearer: BearerAuth) -> tuple[list[str], list[str] | None]:
    """The request's ``Authorization`` lines, and its API key header's (``None`` when API keys are off)."""
    header = bearer.api_key_header
    return request.headers.getlist("Authorization"), None if header is None else request.headers.getlist(header)


def _subject_or_none() -> str | None:
    principal = _principal()
    if principal is None:
        bearer = _bearer()
        lines, keys = _credentials(bearer)
        if not lines and not keys:
            return None
        # Read for a log line or a key: a refusal names no one, and is not logged (@require logs it).
        principal = bearer.identify(lines, keys)
        if principal is None:
            return None
        g.backendkit_principal = principal
    return principal.subject


def _principal() -> Principal | None:
    principal: Principal | None = g.get("backendkit_principal")
    return principal


current_principal: Principal = cast(Principal, LocalProxy(_principal))
"""The principal ``@require`` established for this request (``None`` outside one)."""


def require(
    guard: Guard | None = None,
    *,
    permissions: Iterable[str] = (),
    scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
) -> Callable[[F], F]:
    """A view decorator: authenticate, check ``guard`` and the listed requirements, then run the view.

    Predicates receive the view's URL values as ``ctx.params``. On an async view
    the token is verified and async predicates awaited without blocking; a sync
    view cannot use async predicates (a ``ConfigurationError`` when decorated).
    """
    checked = requirement(guard, permissions=permissions, scopes=scopes, roles=roles)

    def decorate(view: F) -> F:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                bearer = _bearer()
                principal = _principal() or await bearer.aauthenticate(*_credentials(bearer))
                g.backendkit_principal = principal
                await bearer.aauthorize(checked, principal, request.view_args or {}, request)
                return await view(*args, **kwargs)

            setattr(guarded_async, AUTHENTICATES, True)
            return cast(F, guarded_async)
        if checked.is_async:
            raise ConfigurationError(f"{view.__name__} is sync: its guard cannot have async predicates")

        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            bearer = _bearer()
            # Verified once per request: a principal already read (for a rate-limit key) is the one.
            principal = _principal() or bearer.authenticate(*_credentials(bearer))
            g.backendkit_principal = principal
            bearer.authorize(checked, principal, request.view_args or {}, request)
            return view(*args, **kwargs)

        setattr(guarded, AUTHENTICATES, True)
        return cast(F, guarded)

    return decorate


def jwks_routes(document: JWKSDocument, *, path: str = JWKS_PATH, name: str = "backendkit_jwks") -> Blueprint:
    """The JWK Set at ``path`` (``/.well-known/jwks.json``), GET and HEAD, as a blueprint to register.

    Example:
        >>> from backendkit.auth import JWKSDocument, PublicKey
        >>> jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        >>> app = Flask(__name__)
        >>> app.register_blueprint(jwks_routes(JWKSDocument([PublicKey(jwk, alg="EdDSA", kid="k1")])))
    """
    blueprint = Blueprint(name, __name__)
    headers = list(document.headers)

    def jwks() -> Response:
        return Response(document.body, headers=headers)

    blueprint.add_url_rule(route_path(path), endpoint="jwks", view_func=jwks, methods=["GET"])
    return blueprint


def refresh_routes(
    issuer: TokenIssuer, *, path: str = DEFAULT_REFRESH_PATH, name: str = "backendkit_refresh"
) -> Blueprint:
    """The refresh endpoint at ``path`` (``/auth/refresh``), POST, as a blueprint to register.

    A refresh grant (RFC 6749 §6) is answered with a new pair (§5.1) or a §5.2 error,
    with ``Cache-Control: no-store``; any other method is the extension's 405. The
    view is synchronous: ``issuer``'s revocation list must be a sync one (a
    ``ConfigurationError`` here otherwise).

    Example:
        >>> from backendkit.auth import HMACKey, MemoryRefreshStore
        >>> issuer = TokenIssuer(HMACKey("a-32-byte-secret-for-this-example!"), refresh_store=MemoryRefreshStore())
        >>> app = Flask(__name__)
        >>> app.register_blueprint(refresh_routes(issuer))
    """
    issuer = refreshing(issuer, sync=True)
    blueprint = Blueprint(name, __name__)

    def refresh() -> Response:
        # The body as it came (the same bytes parsed alike on every framework), not Flask's form.
        body = request.get_data(cache=True, parse_form_data=False)
        status, headers, content = refresh_answer(issuer, body, request.headers.get("Content-Type"))
        response: Response = current_app.response_class(content, status=status, headers=list(headers))
        return response

    blueprint.add_url_rule(route_path(path, "the refresh endpoint's path"), "refresh", refresh, methods=["POST"])
    return blueprint


__all__ = ["Auth", "current_principal", "jwks_routes", "name_every_user", "refresh_routes", "require"]
__getattr__ = renamed(__name__, {"jwks_blueprint": ("jwks_routes", jwks_routes)})
