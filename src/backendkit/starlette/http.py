"""Conditional requests and deprecation on Starlette endpoints (FastAPI has dependencies of its own).

``install(app, conditional_requests=..., versioning=...)`` runs the layer for every
request (``backendkit.asgi.http``); :func:`preconditions` hands an endpoint the
request's preconditions, and :func:`deprecated` marks an endpoint deprecated.

Example:
    >>> from datetime import datetime, timezone
    >>> from starlette.applications import Starlette
    >>> from starlette.requests import Request
    >>> from starlette.responses import JSONResponse
    >>> from starlette.routing import Route
    >>> from backendkit.http import Deprecation
    >>> from backendkit.starlette import install
    >>> from backendkit.starlette.http import deprecated
    >>> @deprecated(Deprecation(datetime(2026, 6, 1, tzinfo=timezone.utc)))
    ... async def old(request: Request) -> JSONResponse:
    ...     return JSONResponse({"old": True})
    >>> app = Starlette(routes=[Route("/old", old)])
    >>> install(app, conditional_requests=True)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from starlette.requests import HTTPConnection, Request

from backendkit.asgi.http import deprecate, preconditions_of
from backendkit.http import Deprecation, Preconditions

E = TypeVar("E", bound=Callable[..., Any])


def preconditions(request: Request, *, required: bool = False) -> Preconditions:
    """The request's preconditions: call :meth:`Preconditions.check` with the resource's current tag.

    Raises:
        BadRequest: 400 ``MALFORMED_PRECONDITION`` for a malformed ``If-Match``.
        PreconditionRequired: 428 at once for a ``required`` unsafe request that sent
            no ``If-Match``, ``If-None-Match: *`` or ``If-Unmodified-Since``.
    """
    return preconditions_of(request.scope, required=required)


def deprecated(deprecation: Deprecation) -> Callable[[E], E]:
    """An endpoint decorator: its answers carry ``Deprecation``/``Sunset``/``Link``; past a retiring sunset, 410.

    The 410 ``GONE`` is raised before the endpoint runs. The endpoint is a function,
    sync or async, taking the ``Request`` (or an ``HTTPEndpoint`` method).
    """

    def decorate(endpoint: E) -> E:
        if not callable(endpoint):
            raise TypeError(f"@deprecated decorates an endpoint function, not {endpoint!r}")
        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def deprecated_async(*args: Any, **kwargs: Any) -> Any:
                deprecate(_request_of(args, endpoint).scope, deprecation)
                return await endpoint(*args, **kwargs)

            return cast(E, deprecated_async)

        @functools.wraps(endpoint)
        def deprecated_sync(*args: Any, **kwargs: Any) -> Any:
            deprecate(_request_of(args, endpoint).scope, deprecation)
            return endpoint(*args, **kwargs)

        return cast(E, deprecated_sync)

    return decorate


def _request_of(args: tuple[Any, ...], endpoint: Callable[..., Any]) -> HTTPConnection:
    for arg in args:
        if isinstance(arg, HTTPConnection):
            return arg
    raise TypeError(f"@deprecated: {getattr(endpoint, '__qualname__', endpoint)} was called without a Request")


__all__ = ["deprecated", "preconditions"]
