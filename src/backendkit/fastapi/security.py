"""One route's security headers, and the CSP nonce for templates, on FastAPI.

Example:
    >>> from fastapi import Depends, FastAPI
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.security import security_headers
    >>> app = FastAPI()
    >>> install(app)
    >>> @app.get("/embeddable", dependencies=[Depends(security_headers(frame_options=None))])
    ... async def embeddable() -> dict[str, bool]:
    ...     return {"framed": True}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from backendkit.security._core.csp import CSP
from backendkit.security._core.headers import route_overrides
from backendkit.security._exchange import store_overrides
from backendkit.starlette.security import csp_nonce


def security_headers(**changes: str | CSP | None) -> Callable[[Request], Awaitable[None]]:
    """A dependency that changes the security headers of a route's (or a router's) responses.

    Use it as ``dependencies=[Depends(security_headers(...))]``; it adds nothing to
    the OpenAPI document. Keywords are :class:`~backendkit.security.SecurityHeaders`'
    names: a value replaces the header, ``None`` removes it; a route's changes
    apply over its router's.

    Raises:
        ConfigurationError: When called: an unknown keyword or a value that is no header value.
    """
    overrides = route_overrides(**changes)  # checked once, when the route is declared

    async def change_security_headers(request: Request) -> None:  # (async: no worker thread for this)
        store_overrides(request.scope, overrides)

    return change_security_headers


__all__ = ["csp_nonce", "security_headers"]
