"""Authentication for Django: ``AuthMiddleware`` (a lazy ``request.principal``) and ``@require`` for views.

Set-up::

    MIDDLEWARE = [
        "backendkit.django.ErrorMiddleware",
        "backendkit.django.auth.AuthMiddleware",  # before rate limits that key by user
        ...
    ]
    BACKENDKIT = {"AUTH": "myproject.auth.verifier"}  # a JWTVerifier, APIKeyVerifier or BearerAuth, or a dotted path

and for a view, sync or async::

    @require(permissions=["audit:read"])
    def audit(request): ...

``request.principal`` authenticates when first read: the principal, or the 401/400
raised for ``ErrorMiddleware`` to render. In async code, ``await request.aprincipal()``.
With ``BearerAuth(jwt_verifier, api_keys=key_verifier)`` as ``AUTH``, an API key in
``X-API-Key`` (or as ``Authorization: Bearer <key>``) authenticates as a token does.
``refresh_routes(issuer)`` serves the refresh grant of a ``TokenIssuer``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern
from django.urls import path as url_path
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_safe

from backendkit._deprecation import renamed
from backendkit.auth import (
    AUTHENTICATES,
    JWKS_PATH,
    BearerAuth,
    CredentialVerifier,
    Guard,
    JWKSDocument,
    JWTVerifier,
    Principal,
)
from backendkit.auth import require as requirement
from backendkit.auth._core.publish import route_path
from backendkit.context import get_request_facts
from backendkit.django._refresh import refresh_routes, refresh_view
from backendkit.django._state import get_state

F = TypeVar("F", bound=Callable[..., Any])
_PRINCIPAL = "_backendkit_principal"  # the principal once established, on the request


def bearer() -> BearerAuth:
    """The ``BearerAuth`` of ``BACKENDKIT["AUTH"]``."""
    configured = get_state().settings.auth
    return _as_bearer(configured)


@functools.lru_cache(maxsize=4)
def _as_bearer(configured: Any) -> BearerAuth:
    if isinstance(configured, BearerAuth):
        return configured
    if isinstance(configured, (JWTVerifier, CredentialVerifier)):
        return BearerAuth(configured)
    raise ImproperlyConfigured(
        'BACKENDKIT["AUTH"] must be a JWTVerifier, an APIKeyVerifier or a BearerAuth (or a dotted path to one)'
    )


@functools.lru_cache(maxsize=16)
def _meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _credentials(request: HttpRequest, auth: BearerAuth) -> tuple[list[str], list[str] | None]:
    """The request's ``Authorization`` line, and its API key header's (``None`` when API keys are off).

    (Django's ``META`` holds one value per header: the server joined repeated lines
    with commas, which the header rules refuse as two credentials.)
    """
    meta = request.META
    value = meta.get("HTTP_AUTHORIZATION")
    lines = [] if value is None else [value]
    if auth.api_key_header is None:
        return lines, None
    key = meta.get(_meta_key(auth.api_key_header))
    return lines, [] if key is None else [key]


def authenticate(request: HttpRequest) -> Principal:
    """The request's principal (once per request), or the error to render."""
    principal: Principal | None = request.__dict__.get(_PRINCIPAL)
    if principal is None:
        auth = bearer()
        if auth.checks_sync:
            principal = auth.authenticate(*_credentials(request, auth))
        else:  # an async-only revocation list, from a sync view (in a worker thread): run it to completion
            principal = async_to_sync(auth.aauthenticate)(*_credentials(request, auth))
        request.__dict__[_PRINCIPAL] = principal
    return principal


async def aauthenticate(request: HttpRequest) -> Principal:
    """:func:`authenticate` for async views: keys are fetched and revocations asked without blocking."""
    principal: Principal | None = request.__dict__.get(_PRINCIPAL)
    if principal is None:
        auth = bearer()
        principal = await auth.aauthenticate(*_credentials(request, auth))
        request.__dict__[_PRINCIPAL] = principal
    return principal


def current_principal(request: HttpRequest) -> Principal | None:
    """The principal if this request has been authenticated already (nothing is verified here).

    ``request.principal`` (with ``AuthMiddleware``) authenticates when read; this only looks.
    """
    principal: Principal | None = request.__dict__.get(_PRINCIPAL)
    return principal


class AuthMiddleware:
    """Sets ``request.principal`` (lazy) and ``request.aprincipal()``; serves sync and async stacks.

    The access log's ``user_id`` and ``by_user`` rate limits read the principal
    through it: a request with a valid token is logged and limited as its subject.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        bearer()  # a configuration error at start-up, not on the first request
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _prepare(self, request: HttpRequest) -> None:
        request.principal = SimpleLazyObject(lambda: authenticate(request))  # type: ignore[attr-defined]
        request.aprincipal = lambda: aauthenticate(request)  # type: ignore[attr-defined]
        facts = get_request_facts()
        if facts is not None:
            facts.user_id = lambda: _subject_or_none(request)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        self._prepare(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        self._prepare(request)
        response: HttpResponseBase = await self.get_response(request)
        return response


def _subject_or_none(request: HttpRequest) -> str | None:
    principal = current_principal(request)
    if principal is not None:
        return principal.subject
    auth = bearer()
    lines, keys = _credentials(request, auth)
    if not lines and not keys:
        return None
    # Read for a log line or a rate-limit key: a refusal here is no user, and is not logged
    # (the view's own authentication logs it, once).
    if not auth.checks_sync:
        # An async-only revocation list cannot be asked from here (this may run on the event
        # loop, in the access log): the user is named by the view's own authentication only.
        return None
    principal = auth.identify(lines, keys)
    if principal is None:
        return None
    request.__dict__[_PRINCIPAL] = principal
    return principal.subject


def require(
    guard: Guard | None = None,
    *,
    permissions: Iterable[str] = (),
    scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
) -> Callable[[F], F]:
    """A decorator for sync and async views: authenticate, check the guard, then run the view.

    Predicates receive the URL's keyword arguments as ``ctx.params`` and the
    ``HttpRequest`` as ``ctx.request``. Errors are raised for ``ErrorMiddleware``.
    On a class-based view, use ``method_decorator(require(...), name="get")``.
    """
    checked = requirement(guard, permissions=permissions, scopes=scopes, roles=roles)

    def decorate(view: F) -> F:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def guarded_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                principal = await aauthenticate(request)
                await bearer().aauthorize(checked, principal, kwargs, request)
                return await view(request, *args, **kwargs)

            setattr(guarded_async, AUTHENTICATES, True)
            return guarded_async  # type: ignore[return-value]
        if checked.is_async:
            raise ImproperlyConfigured(f"{view.__name__} is sync: its guard cannot have async predicates")

        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            principal = authenticate(request)
            bearer().authorize(checked, principal, kwargs, request)
            return view(request, *args, **kwargs)

        setattr(guarded, AUTHENTICATES, True)
        return guarded  # type: ignore[return-value]

    return decorate


def _jwks_response(document: JWKSDocument) -> HttpResponse:
    response = HttpResponse(document.body)
    for name, value in document.headers:
        response[name] = value
    response["Content-Length"] = str(len(document.body))  # as the other frameworks send it (Django does not)
    return response


def jwks_routes(document: JWKSDocument, *, path: str = JWKS_PATH, asynchronous: bool = False) -> list[URLPattern]:
    """The JWK Set at ``path`` (``/.well-known/jwks.json``), GET and HEAD, as URL patterns to include.

    A sync view by default; ``asynchronous=True`` serves an async one, for ASGI (no
    thread hop: the document is built once and sent as it is). Example::

        urlpatterns = [*jwks_routes(JWKSDocument([PublicKey(public_pem, alg="RS256", kid="2026-11")])), ...]
    """
    if asynchronous:

        async def jwks_async(request: HttpRequest) -> HttpResponse:
            return _jwks_response(document)

        view: Callable[..., Any] = jwks_async
    else:

        def jwks(request: HttpRequest) -> HttpResponse:
            return _jwks_response(document)

        view = jwks
    # Any other method is a 405 with Allow: GET, HEAD, which ErrorMiddleware renders in the envelope.
    return [url_path(route_path(path).lstrip("/"), require_safe(view), name="backendkit-jwks")]


__all__ = [
    "AuthMiddleware",
    "aauthenticate",
    "authenticate",
    "bearer",
    "current_principal",
    "jwks_routes",
    "refresh_routes",
    "refresh_view",
    "require",
]
__getattr__ = renamed(
    __name__, {"jwks_urls": ("jwks_routes", jwks_routes), "established": ("current_principal", current_principal)}
)
