"""Django REST framework: an authentication class and guards as permission classes.

Set-up (``pip install "backendkit[drf,jwt]"``)::

    BACKENDKIT = {"AUTH": "myproject.auth.verifier"}  # JWTs, API keys, or a BearerAuth taking both
    REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["backendkit.django.drf.JWTAuthentication"]}

    class AuditView(APIView):
        permission_classes = [Require(permissions=["audit:read"])]

With ``BACKENDKIT["VERSIONING"]``, :class:`APIVersioning` makes DRF's ``request.version``
the version ``ErrorMiddleware`` resolved (``REST_FRAMEWORK["DEFAULT_VERSIONING_CLASS"]``);
``backendkit.django.http``'s ``preconditions`` and ``deprecated`` take DRF requests and views.

``request.user`` is a :class:`PrincipalUser` and ``request.auth`` the
:class:`~backendkit.auth.Principal`. Refusals are backendkit's errors, raised
past DRF's own handler to ``ErrorMiddleware``: the same 400/401/403 envelopes and
challenges as on every other framework (DRF's ``{"detail": ...}`` bodies would
differ).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backendkit._extras import require as require_extra

require_extra("rest_framework", extra="drf", module="backendkit.django.drf")

from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from rest_framework.authentication import BaseAuthentication  # noqa: E402
from rest_framework.permissions import BasePermission  # noqa: E402

from backendkit.auth import CredentialsRequired, Guard, Principal  # noqa: E402
from backendkit.auth import require as requirement  # noqa: E402
from backendkit.auth._core.errors import challenge  # noqa: E402
from backendkit.django.auth import _credentials, authenticate, bearer  # noqa: E402


class PrincipalUser:
    """DRF's ``request.user`` for a verified token: authenticated, with the principal's subject as ``pk``."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False  # (what Django's own checks and DRF's IsAdminUser read: roles live in the principal)
    is_superuser = False

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.pk = self.id = principal.subject

    def get_username(self) -> str:
        """The principal's subject."""
        return self.principal.subject

    def __str__(self) -> str:
        return self.principal.subject


class JWTAuthentication(BaseAuthentication):  # type: ignore[misc]
    """Bearer credentials for DRF views: what ``BACKENDKIT["AUTH"]`` takes, access tokens (JWTs), API keys or both.

    A request with no credentials is left to the permission classes; an API key
    in ``X-API-Key`` (or as ``Authorization: Bearer <key>``) authenticates as a token
    does when ``AUTH`` takes API keys. One class for both: the setting, not the
    class, says which credentials are taken.
    """

    def authenticate(self, request: Any) -> tuple[PrincipalUser, Principal] | None:
        auth = bearer()
        if not auth.sent_credentials(*_credentials(request._request, auth)):
            return None
        principal = authenticate(request._request)  # (which names the user in the request's log lines)
        return PrincipalUser(principal), principal

    def authenticate_header(self, request: Any) -> str:
        return challenge(bearer().realm)


def Require(  # noqa: N802  (it makes a class, and is written where classes are listed)
    guard: Guard | None = None,
    *,
    permissions: Iterable[str] = (),
    scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
) -> type[BasePermission]:
    """A DRF permission class: 401 without a principal, then the guard (403 on refusal).

    Predicates receive the view's URL keyword arguments as ``ctx.params`` and the
    DRF request as ``ctx.request``. Sync only: DRF's permission checks are.
    """
    checked = requirement(guard, permissions=permissions, scopes=scopes, roles=roles)
    if checked.is_async:
        raise ImproperlyConfigured("DRF checks permissions synchronously: this guard has an async predicate")

    class Required(BasePermission):  # type: ignore[misc]
        def has_permission(self, request: Any, view: Any) -> bool:
            principal = request.auth
            auth = bearer()
            if not isinstance(principal, Principal):
                raise CredentialsRequired(auth.realm)
            auth.authorize(checked, principal, getattr(view, "kwargs", {}) or {}, request)
            return True

    Required.__qualname__ = Required.__name__ = "Require"
    return Required


class APIVersioning:
    """DRF's ``request.version``: the API version ``BACKENDKIT["VERSIONING"]`` read from the request.

    ``ErrorMiddleware`` resolves it (and refuses an unknown one with the
    ``UNSUPPORTED_VERSION`` envelope) before any view runs, so DRF reads it rather than
    parsing the request a second time; ``ALLOWED_VERSIONS`` is not needed. (Not a subclass
    of DRF's ``BaseVersioning``, whose class body reads the Django settings: this module
    stays importable before they are configured. DRF asks a versioning class for these two
    methods only.)
    """

    def determine_version(self, request: Any, *args: Any, **kwargs: Any) -> str | None:
        """The version the middleware resolved (None without ``VERSIONING``)."""
        version: str | None = getattr(request._request, "api_version", None)
        return version

    def reverse(
        self,
        viewname: str,
        args: Any = None,
        kwargs: Any = None,
        request: Any = None,
        format: str | None = None,
        **extra: Any,
    ) -> str:
        """DRF's plain reverse: the version is in the URL (a path version) or in the request's headers."""
        from rest_framework.reverse import _reverse

        url: str = _reverse(viewname, args, kwargs, request, format, **extra)
        return url


__all__ = ["APIVersioning", "JWTAuthentication", "PrincipalUser", "Require"]
