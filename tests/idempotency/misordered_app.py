"""A FastAPI app with a route that starts its idempotency key before authenticating: it must not start.

The route is put into the router's list by hand, where neither ``add_api_route`` nor
``include_router`` sees it: only the check at startup can refuse it.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from backendkit.auth import Principal
from backendkit.fastapi import install
from backendkit.fastapi.auth import Auth
from backendkit.fastapi.idempotency import IdempotentRoutes
from backendkit.idempotency import Idempotency, MemoryStore
from examples import _auth

app = FastAPI()
install(app)
auth = Auth(_auth.verifier())
keys = IdempotentRoutes(app, Idempotency(MemoryStore()))


def order(principal: Principal = Depends(auth.require())) -> dict[str, str]:  # noqa: B008
    return {"owner": principal.subject}


app.router.routes.append(APIRoute("/orders", order, methods=["POST"], dependencies=[keys.depends()]))
