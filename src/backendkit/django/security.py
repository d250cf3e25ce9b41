"""CORS and security headers on Django: per-view changes, and the request's CSP nonce in templates.

``ErrorMiddleware`` does the rest from ``BACKENDKIT["CORS"]`` and
``BACKENDKIT["SECURITY_HEADERS"]`` (objects, mappings of their arguments, or
dotted paths to them): it answers preflights and CSP reports before every other
middleware (authentication, rate limits, idempotency keys) and adds the headers
to every response, those of the error views included. The nonce is
``request.csp_nonce``; with the context processor, ``csp_nonce`` in templates::

    # settings.py
    TEMPLATES = [{..., "OPTIONS": {"context_processors": ["backendkit.django.security.csp_nonce"]}}]

    <script nonce="{{ csp_nonce }}">...</script>

Example:
    >>> from django.http import HttpRequest, HttpResponse
    >>> from backendkit.django.security import security_headers
    >>> @security_headers(frame_options=None, cross_origin_resource_policy="cross-origin")
    ... def embed(request: HttpRequest) -> HttpResponse:
    ...     return HttpResponse("<p>framed elsewhere</p>")
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest

from backendkit.security._core.csp import CSP
from backendkit.security._core.headers import route_overrides
from backendkit.security._exchange import store_overrides

F = TypeVar("F", bound=Callable[..., Any])


def security_headers(**changes: str | CSP | None) -> Callable[[F], F]:
    """Change this view's security headers: a keyword of ``SecurityHeaders`` each, ``None`` to send none.

    ``content_security_policy`` takes a :class:`~backendkit.security.CSP` or a
    string; the others a string. Checked once, when the view is decorated; a
    header the response sets itself still wins. Sync and async views alike (a
    class-based view's method through Django's ``method_decorator``).

    Raises:
        ConfigurationError: An unknown keyword, or a value that is no header value.
    """
    overrides = route_overrides(**changes)

    def decorate(view: F) -> F:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def changed_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                store_overrides(request.META, overrides)
                return await view(request, *args, **kwargs)

            return changed_async  # type: ignore[return-value]

        @functools.wraps(view)
        def changed(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            store_overrides(request.META, overrides)
            return view(request, *args, **kwargs)

        return changed  # type: ignore[return-value]

    return decorate


def csp_nonce(request: HttpRequest) -> dict[str, Any]:
    """A template context processor: ``csp_nonce``, this request's nonce (none when the headers are off)."""
    nonce = getattr(request, "csp_nonce", None)
    return {"csp_nonce": nonce} if nonce is not None else {}


__all__ = ["csp_nonce", "security_headers"]
