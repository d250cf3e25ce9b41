"""Idempotency keys on FastAPI routes: a dependency, documented in OpenAPI, over the ASGI middleware.

Example:
    >>> from fastapi import FastAPI
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.idempotency import IdempotentRoutes
    >>> from backendkit.idempotency import Idempotency, MemoryStore
    >>> app = FastAPI()
    >>> install(app)
    >>> keys = IdempotentRoutes(app, Idempotency(MemoryStore()))
    >>> @app.post("/payments", status_code=201, dependencies=[keys.depends()])
    ... def pay() -> dict[str, int]:
    ...     return {"id": 1}
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request

from backendkit.asgi.idempotency import IdempotencyMiddleware, slot_of
from backendkit.errors import ConfigurationError
from backendkit.fastapi._openapi import AUTH_STATUSES, REQUIRED_HEADERS
from backendkit.fastapi._routes import resolution_order, route_contexts
from backendkit.idempotency import Idempotency, MemoryStore

# The key's syntax, bare or quoted, for the document only: the parser answers a bad key with its own
# 400 (IDEMPOTENCY_KEY_INVALID), where FastAPI's validation would answer 422.
KEY_PATTERN = r'^(?:[A-Za-z0-9._~:+/=-]{1,255}|"[A-Za-z0-9._~:+/=-]{1,255}")$'
_DESCRIPTION = (
    "Makes a retry safe: the first request with a key runs, and a retry with the same key and the same request "
    "gets the first response again, with `Idempotent-Replayed: true`. 1 to 255 characters of A-Z a-z 0-9 - _ . ~ "
    ': + / =, bare or quoted ("key"). The same key with a different request is a 422; while the first request '
    "runs, a 409 with Retry-After."
)


class IdempotentRoutes:
    """The idempotency of one FastAPI app: adds the middleware, and makes the routes' dependency.

    Declare the dependency after the route's authentication (``dependencies=[auth, keys.depends()]``):
    it starts the key once the user is known, so each user's keys are their own. A route
    that has it the other way round is refused with a ``ConfigurationError`` when it is added
    to the app (``@app.post``, ``include_router``), or else when the app starts.

    Args:
        app: The application (the middleware is added to it, inside ``install``'s).
        idempotency: The store and the policy (a sync-only store runs in a worker thread).
    """

    def __init__(self, app: FastAPI, idempotency: Idempotency) -> None:
        self.idempotency = idempotency
        self._checked = False  # whether every route was checked at a request already
        app.add_middleware(IdempotencyMiddleware, idempotency=idempotency, app_wide=False)
        _check_routes_as_they_come(app.router)

    def depends(self, *, required: bool | None = None) -> Any:
        """The route's dependency: ``Idempotency-Key`` in the OpenAPI document, with its 400, 409 and 422.

        ``required`` overrides the ``Idempotency``'s own for this route.
        """

        async def start_idempotency_key(
            request: Request,
            idempotency_key: str | None = Header(
                None, alias="Idempotency-Key", description=_DESCRIPTION, json_schema_extra={"pattern": KEY_PATTERN}
            ),
        ) -> None:
            if not self.idempotency.applies(request.method):  # (a router-wide dependency meets GET too)
                return
            if not self._checked:  # the last resort: served without a lifespan, a route added to a router late
                _check_key_order(request.app.router.routes)
                self._checked = True
            await slot_of(request.scope).start(self.idempotency, required=required)

        statuses = [400, 409, 422]
        if self.idempotency.on_store_error == "closed" and not isinstance(self.idempotency.store, MemoryStore):
            statuses.append(503)  # (a memory store never fails)
        setattr(start_idempotency_key, AUTH_STATUSES, tuple(statuses))
        setattr(start_idempotency_key, _STARTS_KEY, True)
        if self.idempotency.required if required is None else required:
            setattr(start_idempotency_key, REQUIRED_HEADERS, ("Idempotency-Key",))
        return Depends(start_idempotency_key)


_STARTS_KEY = "backendkit_starts_idempotency_key"
"""The attribute that marks the dependency of :meth:`IdempotentRoutes.depends`."""
_CHECKING = "backendkit_idempotency_checks_routes"


def _check_routes_as_they_come(router: APIRouter) -> None:
    """Refuse a misordered route when it is added to ``router`` or included into it, and at startup.

    Added or included, a route has all the dependencies it is served with, app-wide and
    router-wide ones included: a misordered one fails where it is declared, before any
    server starts. The startup check covers the rest (a route added to a router after its
    inclusion): it fails the lifespan, so the server stops instead of serving.
    """
    if getattr(router, _CHECKING, False):  # (a second IdempotentRoutes on the same app)
        return
    setattr(router, _CHECKING, True)
    add_api_route, include_router, lifespan = router.add_api_route, router.include_router, router.lifespan_context

    def add_checked(*args: Any, **kwargs: Any) -> None:
        add_api_route(*args, **kwargs)
        _check_key_order(router.routes[-1:])

    def include_checked(*args: Any, **kwargs: Any) -> None:
        include_router(*args, **kwargs)
        _check_key_order(router.routes)

    @asynccontextmanager
    async def lifespan_checked(app: Any) -> AsyncIterator[Any]:
        _check_key_order(router.routes)
        async with lifespan(app) as state:
            yield state

    # The router's own methods, per instance, as install() extends the app's (FastAPI has no hook for either).
    setattr(router, "add_api_route", add_checked)  # noqa: B010
    setattr(router, "include_router", include_checked)  # noqa: B010
    router.lifespan_context = lifespan_checked


def _check_key_order(routes: Iterable[Any]) -> None:
    """Raise ``ConfigurationError`` for the first route whose key dependency runs before its authentication.

    The key is scoped by the user: started before authentication, it would be scoped
    by the client's address, and one user's retry could replay another user's response.
    An authentication that FastAPI resolved before the key as well is taken from its
    cache after it, and does not count.
    """
    for route, _ in route_contexts(routes):
        dependant = getattr(route, "dependant", None)
        order = [] if dependant is None else resolution_order(dependant)
        starts = next((at for at, dependency in enumerate(order) if getattr(dependency.call, _STARTS_KEY, False)), None)
        if starts is None:
            continue
        before = {dependency.call for dependency in order[:starts]}
        late = [
            dependency.call
            for dependency in order[starts + 1 :]
            if 401 in getattr(dependency.call, AUTH_STATUSES, ())
            and not (dependency.use_cache and dependency.call in before)
        ]
        if late:
            raise ConfigurationError(_misordered(route, late[0]))


def _misordered(route: Any, authentication: Any) -> str:
    methods = ", ".join(sorted(getattr(route, "methods", None) or ()))
    name = getattr(authentication, "__name__", "its authentication")
    return (
        f"{methods} {getattr(route, 'path', '?')}: the Idempotency-Key dependency runs before the authentication "
        f"({name}), so keys would be scoped by the client's address, not by the user. FastAPI resolves the app's "
        "and the routers' dependencies first, then the route's dependencies=[...], then the endpoint's "
        "parameters: declare the authentication before keys.depends(), e.g. dependencies=[Depends(authenticated), "
        "keys.depends()] with authenticated = auth.require() (an endpoint parameter Depends(authenticated) then "
        "reuses that principal), or take the key as a parameter after the principal's"
    )


__all__ = ["IdempotentRoutes"]
