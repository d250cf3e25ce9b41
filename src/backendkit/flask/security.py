"""CORS and security headers on Flask: per-view changes, and the request's CSP nonce.

The extension does the rest from the ``BACKENDKIT_CORS`` and
``BACKENDKIT_SECURITY_HEADERS`` config keys: it answers preflights and CSP
reports in the first hook of the request (before rate limits, authentication
and idempotency keys, and before routing's 404 or 405), and adds the headers to
every response, the error handler's included. The nonce is ``g.csp_nonce``, and
``csp_nonce`` in every template::

    <script nonce="{{ csp_nonce }}">...</script>

Example:
    >>> from flask import Flask
    >>> from backendkit.flask import BackendKit
    >>> from backendkit.flask.security import security_headers
    >>> app = Flask(__name__)
    >>> extension = BackendKit(app, cors={"allow_origins": ["https://app.example.com"]})
    >>> @app.get("/embed")
    ... @security_headers(frame_options=None, cross_origin_resource_policy="cross-origin")
    ... def embed() -> str:
    ...     return "<p>framed elsewhere</p>"
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request

from backendkit.security._core.csp import CSP
from backendkit.security._core.headers import route_overrides
from backendkit.security._exchange import store_overrides

F = TypeVar("F", bound=Callable[..., Any])


def security_headers(**changes: str | CSP | None) -> Callable[[F], F]:
    """Change this view's security headers: a keyword of ``SecurityHeaders`` each, ``None`` to send none.

    ``content_security_policy`` takes a :class:`~backendkit.security.CSP` or a
    string; the others a string. Checked once, when the view is decorated; a
    header the response sets itself still wins.

    Raises:
        ConfigurationError: An unknown keyword, or a value that is no header value.
    """
    overrides = route_overrides(**changes)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def changed(*args: Any, **kwargs: Any) -> Any:
            store_overrides(request.environ, overrides)
            return current_app.ensure_sync(view)(*args, **kwargs)

        return changed  # type: ignore[return-value]

    return decorate


__all__ = ["security_headers"]
