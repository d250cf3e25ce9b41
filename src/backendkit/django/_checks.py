"""System checks that catch an incomplete set-up at start-up, not at the first error."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.urls import get_resolver

from backendkit.django._state import get_semantics, get_state

_MIDDLEWARE = "backendkit.django.ErrorMiddleware"
_ALIASES = {_MIDDLEWARE, "backendkit.django.middleware.ErrorMiddleware"}
_RATE_LIMIT = "backendkit.django.ratelimit.RateLimitMiddleware"
_IDEMPOTENCY = "backendkit.django.idempotency.IdempotencyMiddleware"
_READ_BY = {"RATE_LIMITS": _RATE_LIMIT, "IDEMPOTENCY": _IDEMPOTENCY}  # a setting, and the middleware that reads it
_DJANGO_CSRF = "django.views.csrf.csrf_failure"


def check_setup(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E001 (middleware missing), E002 (bad BACKENDKIT settings), E003 (rate limits before the errors),
    E004 (bad rate limits), W001 (not first), W002 (no error views), W003 (CSRF failures in HTML)."""
    messages: list[CheckMessage] = []
    try:
        state = get_state()
        get_semantics()  # (CONDITIONAL_REQUESTS and VERSIONING, built apart from the rest)
    except ImproperlyConfigured as exc:
        messages.append(Error(str(exc), id="backendkit.E002"))
    else:
        messages += _rate_limit_messages(state.settings.rate_limits)
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    present = [i for i, path in enumerate(middleware) if path in _ALIASES]
    if not present:
        messages.append(Error(f"{_MIDDLEWARE!r} is not in MIDDLEWARE.", id="backendkit.E001"))
    elif present[0] != 0:
        messages.append(
            Warning(
                f"{_MIDDLEWARE!r} is not first in MIDDLEWARE.",
                hint="Middleware before it answers without a request id and may render HTML errors.",
                id="backendkit.W001",
            )
        )
    limiting = [i for i, path in enumerate(middleware) if path == _RATE_LIMIT]
    if limiting and (not present or limiting[0] < present[0]):
        messages.append(
            Error(
                f"{_RATE_LIMIT!r} must come after {_MIDDLEWARE!r} in MIDDLEWARE.",
                hint="ErrorMiddleware adds the RateLimit headers to responses and renders the 429.",
                id="backendkit.E003",
            )
        )
    if "django.middleware.csrf.CsrfViewMiddleware" in middleware and settings.CSRF_FAILURE_VIEW == _DJANGO_CSRF:
        messages.append(
            Warning(
                "CsrfViewMiddleware answers a refused request with Django's HTML 403 page.",
                hint='CSRF_FAILURE_VIEW = "backendkit.django.views.csrf_failure"',
                id="backendkit.W003",
            )
        )
    urlconf = get_resolver().urlconf_module
    missing = [name for name in ("handler400", "handler403", "handler404", "handler500") if not hasattr(urlconf, name)]
    if missing:
        messages.append(
            Warning(
                f"The root URLconf does not set {', '.join(missing)}.",
                hint="from backendkit.django.views import handler400, handler403, handler404, handler500",
                id="backendkit.W002",
            )
        )
    return messages


def check_settings_are_read(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E005: ``RATE_LIMITS`` or ``IDEMPOTENCY`` set, and the middleware that reads it missing (it would do nothing).

    A check of its own (``check_setup`` reports the rest), so that each stays one concern.
    """
    try:
        configured = get_state().settings
    except ImproperlyConfigured:
        return []  # (E002, from check_setup)
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    return [
        Error(
            f'BACKENDKIT["{name}"] is set but {reader!r} is not in MIDDLEWARE: nothing reads it.',
            hint=f"Add {reader!r} after {_MIDDLEWARE!r}, or remove the setting.",
            id="backendkit.E005",
        )
        for name, reader in _READ_BY.items()
        if getattr(configured, name.lower()) is not None and reader not in middleware
    ]


def check_guarded_views(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E006: a view in the URLconf has ``@require`` and ``BACKENDKIT["AUTH"]`` is not set.

    Such a view would answer every request with a configuration error; found here, at
    start-up (``runserver``, ``migrate``, ``check --deploy``), instead.
    """
    try:
        if get_state().settings.auth is not None:
            return []
    except ImproperlyConfigured:
        return []  # (E002, from check_setup)
    from backendkit.auth import AUTHENTICATES

    guarded = [name for name, view in _views(get_resolver().url_patterns, "") if getattr(view, AUTHENTICATES, False)]
    if not guarded:
        return []
    return [
        Error(
            f'{guarded[0]} has @require, and BACKENDKIT["AUTH"] is not set: it cannot authenticate anyone.',
            hint='BACKENDKIT = {"AUTH": "myproject.auth.verifier"}  # a JWTVerifier, APIKeyVerifier or BearerAuth',
            id="backendkit.E006",
        )
    ]


def _views(patterns: Any, prefix: str) -> Any:
    for pattern in patterns:
        nested = getattr(pattern, "url_patterns", None)
        if nested is not None:
            yield from _views(nested, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def _rate_limit_messages(value: object) -> list[CheckMessage]:
    """E004: ``BACKENDKIT["RATE_LIMITS"]`` is not a Limit, a list of them or a path to either; or the old setting."""
    messages: list[CheckMessage] = []
    if hasattr(settings, "BACKENDKIT_RATE_LIMITS"):
        messages.append(
            Error(
                "settings.BACKENDKIT_RATE_LIMITS is not read: the limits live in the BACKENDKIT dict.",
                hint='BACKENDKIT = {..., "RATE_LIMITS": [Limit("1000/hour")]}',
                id="backendkit.E004",
            )
        )
    if value is None:
        return messages
    from backendkit.django.ratelimit import configured_limits  # the ratelimit extra, only when limits are set

    try:
        configured_limits()
    except ImproperlyConfigured as exc:
        messages.append(Error(str(exc), hint="from backendkit.ratelimit import Limit", id="backendkit.E004"))
    return messages
