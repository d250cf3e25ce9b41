"""Conditional requests and deprecation as FastAPI dependencies, documented in OpenAPI.

``install(app, conditional_requests=..., versioning=...)`` runs the layer for every
request (``backendkit.asgi.http``): ETags, 304s, API versions and their deprecation
headers. :func:`preconditions` hands a route the request's preconditions;
:func:`deprecated` marks a route, or every route of an ``APIRouter``, deprecated.

Example:
    >>> from typing import Annotated
    >>> from fastapi import Depends, FastAPI
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.http import preconditions
    >>> from backendkit.http import ETag, Preconditions
    >>> app = FastAPI()
    >>> install(app, conditional_requests=True)
    >>> @app.put("/notes/{note_id}")
    ... def put_note(note_id: int, asked: Annotated[Preconditions, Depends(preconditions(required=True))]) -> dict:
    ...     asked.check(etag=ETag.for_version(1))  # 412 unless If-Match names "v1"
    ...     return {"id": note_id}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import Header, Request
from starlette.exceptions import HTTPException

from backendkit.asgi._types import ASGIApp, Message, Receive, Scope, Send
from backendkit.asgi.http import deprecate, preconditions_of
from backendkit.errors import APIError
from backendkit.fastapi._openapi import AUTH_STATUSES
from backendkit.fastapi._routes import add_responses, resolution_order, route_contexts
from backendkit.http import Deprecation, HttpSemantics, Preconditions, UnknownVersion

REQUIRES = "backendkit_requires_preconditions"
"""The attribute on a :func:`preconditions` dependency: whether the route refuses to go without one (428)."""
DEPRECATES = "backendkit_deprecation"
"""The attribute on a :func:`deprecated` dependency: its :class:`~backendkit.http.Deprecation`."""

_IF_MATCH = (
    'The entity tag the change is made against, as read from the resource\'s ETag (`"v3"`), or `*`; '
    "a stale one is answered 412 with the current ETag."
)


def preconditions(required: bool = False) -> Callable[..., Preconditions]:
    """A dependency giving the request's :class:`~backendkit.http.Preconditions` (``Depends(preconditions())``).

    The route calls :meth:`Preconditions.check` with the resource's current tag (412
    when stale, 304 for a GET whose copy is current), or reads
    :attr:`Preconditions.expected_version` to update atomically. With ``required``, an
    unsafe request with no ``If-Match``, ``If-None-Match: *`` or ``If-Unmodified-Since`` is
    answered 428 ``PRECONDITION_REQUIRED`` before its body is read. The operation documents
    the ``If-Match`` header, 400 (a malformed one), 412 and, when required, 428.
    """

    def dependency(
        request: Request,
        if_match: Annotated[str | None, Header(alias="If-Match", description=_IF_MATCH)] = None,
    ) -> Preconditions:
        return preconditions_of(request.scope, required=required)

    setattr(dependency, AUTH_STATUSES, (400, 412, 428) if required else (400, 412))
    setattr(dependency, REQUIRES, required)
    return dependency


def deprecated(deprecation: Deprecation) -> Callable[..., None]:
    """A dependency marking a route deprecated: ``dependencies=[Depends(deprecated(d))]``, of a route or a router.

    Its answers, errors included, carry ``Deprecation``, ``Sunset`` and ``Link``; past a
    sunset that retires it, 410 ``GONE`` before anything listed after it runs (put it
    first, before authentication). The OpenAPI operation is ``deprecated: true``, with
    410 when the deprecation retires the route.
    """

    def dependency(request: Request) -> None:
        deprecate(request.scope, deprecation)

    setattr(dependency, DEPRECATES, deprecation)
    return dependency


class _Refused(HTTPException):
    """A 428 raised while FastAPI reads the body (it lets only an ``HTTPException`` through there)."""

    def __init__(self, error: APIError) -> None:
        super().__init__(error.status)
        self.error = error


def refused_error(exc: _Refused) -> APIError:
    """The API error a :class:`_Refused` carries (FastAPI's translations register it)."""
    return exc.error


def requires_preconditions(dependant: Any, found: dict[int, bool]) -> bool:
    """Whether a route's dependencies, at any depth, include ``preconditions(required=True)`` (cached in ``found``)."""
    key = id(dependant)
    known = found.get(key)
    if known is None:
        known = found[key] = _requires(dependant)
    return known


def _requires(dependant: Any) -> bool:
    pending = list(dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if getattr(dependency.call, REQUIRES, False):
            return True
        pending.extend(dependency.dependencies)
    return False


class PreconditionsFirst:
    """The 428 of a route that requires a precondition, before FastAPI reads and parses its body.

    FastAPI reads a route's body before it solves the dependencies, so a malformed body
    would be answered before :func:`preconditions` runs; Flask and Django check the
    precondition first. This innermost layer checks when the routed request first
    reads its body. Added by ``install()`` when some route requires a precondition.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.found: dict[int, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        checked = False

        async def receive_checked() -> Message:
            nonlocal checked
            if not checked:
                route = _routed(scope)
                if route is not None:
                    checked = True
                    if requires_preconditions(route.dependant, self.found):
                        try:
                            preconditions_of(scope, required=True)
                        except APIError as refusal:
                            raise _Refused(refusal) from None
            return await receive()

        await self.app(scope, receive_checked, send)


_NOT_MODIFIED = {"description": "Not Modified: the client's copy (If-None-Match, If-Modified-Since) is current."}


def document_http(schema: dict[str, Any], routes: Iterable[Any], semantics: HttpSemantics) -> None:
    """What the layer and the dependencies send, in the OpenAPI document.

    A GET documents 304, 412 (an ``If-Match`` its answer does not match) and 400 (a malformed
    one) with the conditional layer on; a deprecated route (or a route of a
    deprecated path version) is ``deprecated: true``, with 410 when it is retired at its
    sunset (only 410 once it is); versions read from a header or the media type add 400 ``UNSUPPORTED_VERSION``;
    a route under a path version that is not served is no operation (the layer answers 404).
    """
    paths = schema.get("paths", {})
    now = time.time()
    versioning = semantics.versioning
    by_path = versioning is not None and versioning.source == "path"
    for route, _ in route_contexts(routes):
        item = paths.get(route.path_format)
        if not route.include_in_schema or not isinstance(item, dict):
            continue
        deprecation = _deprecation_of(route.dependant)
        if by_path and versioning is not None:
            try:
                version = versioning.from_path(route.path_format)
            except UnknownVersion:
                for method in route.methods or ():
                    item.pop(method.lower(), None)
                if not item:
                    del paths[route.path_format]
                continue
            deprecation = deprecation or versioning.deprecation(version)
        for method in route.methods or ():
            operation = item.get(method.lower())
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            retired = deprecation is not None and deprecation.is_gone(now)
            if deprecation is not None:
                operation["deprecated"] = True
                if retired:  # every answer the route could make is the 410 now
                    responses.clear()
                if deprecation.gone_after_sunset:
                    add_responses(responses, 410)
            if semantics.conditional is not None and method == "GET":
                add_responses(responses, 400)  # a malformed If-Match, read before routing
                if not retired:  # a 200's: 304 for a current copy, 412 for an If-Match it does not match
                    responses.setdefault("304", dict(_NOT_MODIFIED))
                    add_responses(responses, 412)
            if versioning is not None and not by_path:
                add_responses(responses, 400)


def _deprecation_of(dependant: Any) -> Deprecation | None:
    found: Deprecation | None = None
    for dependency in resolution_order(dependant):  # (the last one listed wins, as at run time)
        found = getattr(dependency.call, DEPRECATES, None) or found
    return found


def _routed(scope: Scope) -> Any:
    """The route (as matched: an included router's context) the request was routed to, or None."""
    matched = scope.get("fastapi")
    context = matched.get("effective_route_context") if isinstance(matched, dict) else None
    route = context if getattr(context, "dependant", None) is not None else scope.get("route")
    return route if getattr(route, "dependant", None) is not None else None


__all__ = [
    "DEPRECATES",
    "REQUIRES",
    "PreconditionsFirst",
    "deprecated",
    "document_http",
    "preconditions",
    "refused_error",
    "requires_preconditions",
]
