"""The FastAPI example with the browser tests' routes (see tests/browser/apps.py).

Its own module: FastAPI reads the routes' annotations (``Request``) from the module's names.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from backendkit.asgi.ratelimit import RateLimitMiddleware
from backendkit.fastapi.auth import Auth
from examples import _auth
from examples import fastapi_app as example
from tests.browser import apps


def fastapi_app() -> Any:
    app = example.create_app()
    app.add_middleware(RateLimitMiddleware, limits=apps.site_limit())
    authenticated = Auth(_auth.verifier(asynchronous=True)).require()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(apps.BUG)

    @app.api_route("/guarded", methods=["PUT", "DELETE"], dependencies=[Depends(authenticated)])
    def guarded(request: Request) -> dict[str, str]:
        return {"method": request.method}

    return app
