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

from typing import Any

from fastapi import Depends, FastAPI, Header, Request

from backendkit.asgi.idempotency import IdempotencyMiddleware, slot_of
from backendkit.errors import ConfigurationError
from backendkit.fastapi._openapi import AUTH_STATUSES, REQUIRED_HEADERS
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
    it starts the key once the user is known, so each user's keys are their own.

    Args:
        app: The application (the middleware is added to it, inside ``install``'s).
        idempotency: The store (an async one) and the policy.
    """

    def __init__(self, app: FastAPI, idempotency: Idempotency) -> None:
        idempotency.require_async()
        self.idempotency = idempotency
        app.add_middleware(IdempotencyMiddleware, idempotency=idempotency, app_wide=False)

    def depends(self, *, required: bool | None = None) -> Any:
        """The route's dependency: ``Idempotency-Key`` in the OpenAPI document, with its 400, 409 and 422.

        ``required`` overrides the ``Idempotency``'s own for this route.
        """

        checked: set[int] = set()  # the routes whose dependency order was checked (their ids)

        async def start_idempotency_key(
            request: Request,
            idempotency_key: str | None = Header(
                None, alias="Idempotency-Key", description=_DESCRIPTION, json_schema_extra={"pattern": KEY_PATTERN}
            ),
        ) -> None:
            if not self.idempotency.applies(request.method):  # (a router-wide dependency meets GET too)
                return
            route = request.scope.get("route")
            if route is not None and id(route) not in checked:
                _authenticated_first(route, start_idempotency_key)
                checked.add(id(route))
            await slot_of(request.scope).start(self.idempotency, required=required)

        statuses = [400, 409, 422]
        if self.idempotency.on_error == "closed" and not isinstance(self.idempotency.store, MemoryStore):
            statuses.append(503)  # (a memory store never fails)
        setattr(start_idempotency_key, AUTH_STATUSES, tuple(statuses))
        if self.idempotency.required if required is None else required:
            setattr(start_idempotency_key, REQUIRED_HEADERS, ("Idempotency-Key",))
        return Depends(start_idempotency_key)


def _resolution_order(dependant: Any) -> list[Any]:
    """The callables of ``dependant``'s dependencies in the order FastAPI calls them (each after its own)."""
    order: list[Any] = []
    for dependency in dependant.dependencies:
        order += _resolution_order(dependency)
        order.append(dependency.call)
    return order


def _authenticated_first(route: Any, key_dependency: Any) -> None:
    """Refuse a route whose authentication FastAPI resolves after the key's dependency.

    The key is scoped by the user: started before authentication, it would be scoped by
    the client's address, and one user's retry could replay another user's response.
    """
    dependant = getattr(route, "dependant", None)
    order = [] if dependant is None else _resolution_order(dependant)
    if key_dependency not in order:
        return
    key_at = order.index(key_dependency)
    if any(401 in getattr(call, AUTH_STATUSES, ()) for call in order[key_at + 1 :]):
        raise ConfigurationError(
            f"{getattr(route, 'path', 'a route')}: its Idempotency-Key dependency runs before its authentication; "
            "declare the authentication first (dependencies=[Depends(auth.require()), keys.depends()], or the "
            "authenticated parameter in the dependencies list before keys.depends())"
        )


__all__ = ["IdempotentRoutes"]
