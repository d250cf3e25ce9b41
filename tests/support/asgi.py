"""ASGI helpers for the tests."""

from __future__ import annotations

from typing import Any


def from_peer(app: Any, host: str, port: int) -> Any:
    """``app`` seen from the socket peer ``(host, port)``, whatever the test client says.

    Starlette's ``TestClient`` names its peer ``testclient`` (no address at all) and takes
    ``client=`` only from Starlette 0.38 on; the suite also runs on the lowest Starlette we allow.
    """

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "client": (host, port)}
        await app(scope, receive, send)

    return wrapped
