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
from backendkit.fastapi._openapi import AUTH_STATUSES
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

        async def idempotency_key(
            request: Request,
            idempotency_key: str | None = Header(
                None, alias="Idempotency-Key", description=_DESCRIPTION, json_schema_extra={"pattern": KEY_PATTERN}
            ),
        ) -> None:
            await slot_of(request.scope).start(self.idempotency, required=required)

        statuses = [400, 409, 422]
        if self.idempotency.on_error == "closed" and not isinstance(self.idempotency.store, MemoryStore):
            statuses.append(503)  # (a memory store never fails)
        setattr(idempotency_key, AUTH_STATUSES, tuple(statuses))
        return Depends(idempotency_key)


__all__ = ["IdempotentRoutes"]
