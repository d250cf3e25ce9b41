"""Starlette's CORSMiddleware on a FastAPI app of the same routes (see peer_apps.py).

Its own module: FastAPI reads the routes' annotations (``Request``, ``TaskIn``) from the module's names.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tests.browser import peer_apps


class TaskIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class RequestId:
    """A request-id middleware (pure ASGI): an ``X-Request-ID`` on every response it sees."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", uuid.uuid4().hex.encode())]
            await send(message)

        await self.app(scope, receive, with_id)


def starlette_app(*, methods_and_headers: bool = False) -> Any:
    """FastAPI with ``CORSMiddleware(allow_origins=[...], allow_credentials=True)``, and optionally ``*`` for
    methods and headers (its defaults allow only ``GET`` and the CORS-safelisted headers)."""
    app = FastAPI()
    counter = peer_apps.Counter()
    app.add_middleware(RequestId)
    extra: dict[str, Any] = {"allow_methods": ["*"], "allow_headers": ["*"]} if methods_and_headers else {}
    app.add_middleware(CORSMiddleware, allow_origins=peer_apps.origins(), allow_credentials=True, **extra)

    def check(request: Request) -> None:
        if not peer_apps.authorized(request.headers.get("authorization")):
            raise HTTPException(401, detail=peer_apps.REFUSED["error"], headers={"WWW-Authenticate": "Bearer"})

    @app.get("/me")
    def me(request: Request) -> dict[str, str]:
        check(request)
        return {"sub": "browser-user"}

    @app.post("/tasks", status_code=201)
    def create(task: TaskIn) -> TaskIn:
        return task

    @app.get("/limited")
    def limited() -> JSONResponse:
        allowed, headers = counter.take()
        return JSONResponse(
            {"ok": True} if allowed else peer_apps.TOO_MANY, status_code=200 if allowed else 429, headers=headers
        )

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(peer_apps.BUG)

    @app.api_route("/guarded", methods=["PUT", "DELETE"])
    def guarded(request: Request) -> dict[str, str]:
        check(request)
        return {"method": request.method}

    return app
