"""One route's security headers, and the CSP nonce for templates, on Starlette (and FastAPI).

``install()`` puts the security headers on every response (the ``SECURITY_HEADERS``
setting); :func:`security_headers` changes them on one endpoint, and
:func:`csp_nonce` hands the request's nonce to ``Jinja2Templates``.

Example:
    >>> from starlette.applications import Starlette
    >>> from starlette.requests import Request
    >>> from starlette.responses import JSONResponse
    >>> from starlette.routing import Route
    >>> from backendkit.starlette import install
    >>> from backendkit.starlette.security import security_headers
    >>> @security_headers(frame_options=None, referrer_policy="same-origin")
    ... async def embeddable(request: Request) -> JSONResponse:
    ...     return JSONResponse({"framed": True})
    >>> app = Starlette(routes=[Route("/embeddable", embeddable)])
    >>> install(app)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from starlette.requests import HTTPConnection, Request

from backendkit.security._core.csp import CSP
from backendkit.security._core.headers import route_overrides
from backendkit.security._exchange import store_overrides

E = TypeVar("E", bound=Callable[..., Any])


def security_headers(**changes: str | CSP | None) -> Callable[[E], E]:
    """An endpoint decorator that changes the security headers of that endpoint's responses.

    Keywords are :class:`~backendkit.security.SecurityHeaders`' names: a value
    replaces the header, ``None`` removes it (``frame_options=None``), and
    ``content_security_policy=CSP(...)`` replaces the policy (``CSP.NONCE`` in it is
    the request's nonce on an HTML response). The endpoint is a function, sync or
    async, taking the ``Request`` (or an ``HTTPEndpoint`` method).

    Raises:
        ConfigurationError: When decorating: an unknown keyword or a value that is no header value.
    """
    overrides = route_overrides(**changes)  # checked once, when the module is imported

    def decorate(endpoint: E) -> E:
        if not callable(endpoint):
            raise TypeError(f"@security_headers decorates an endpoint function, not {endpoint!r}")
        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def changed_async(*args: Any, **kwargs: Any) -> Any:
                store_overrides(_request_of(args, endpoint).scope, overrides)
                return await endpoint(*args, **kwargs)

            return cast(E, changed_async)

        @functools.wraps(endpoint)
        def changed(*args: Any, **kwargs: Any) -> Any:
            store_overrides(_request_of(args, endpoint).scope, overrides)
            return endpoint(*args, **kwargs)

        return cast(E, changed)

    return decorate


def _request_of(args: tuple[Any, ...], endpoint: Callable[..., Any]) -> HTTPConnection:
    for arg in args:
        if isinstance(arg, HTTPConnection):
            return arg
    raise TypeError(f"@security_headers: {getattr(endpoint, '__qualname__', endpoint)} was called without a Request")


def csp_nonce(request: Request) -> dict[str, Any]:
    """A ``Jinja2Templates`` context processor: ``{{ csp_nonce }}`` is the request's CSP nonce.

    ``Jinja2Templates(directory="templates", context_processors=[csp_nonce])``; the
    nonce is made when a template first writes it, and is the one the response's
    ``Content-Security-Policy`` names. Empty when the security headers are off.
    """
    return {"csp_nonce": getattr(request.state, "csp_nonce", "")}


__all__ = ["csp_nonce", "security_headers"]
