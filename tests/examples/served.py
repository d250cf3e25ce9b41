"""An example app, unchanged, each answer naming the worker process that served it (``X-Served-By``).

``SERVED_EXAMPLE`` names the app (``examples.flask_app:app``) and ``SERVED_INTERFACE`` how a
server calls it (``wsgi`` or ``asgi``). The multi-worker tests serve ``tests.examples.served:app``
with the examples' own commands, and read the header to tell that both workers answered.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Message = dict[str, Any]
ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Any]


def wsgi(example: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def served(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, ("X-Served-By", str(os.getpid()))], exc_info)

        return example(environ, start)

    return served


def asgi(example: ASGIApp) -> ASGIApp:
    async def served(
        scope: dict[str, Any], receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        async def send_served(message: Message) -> None:
            if message["type"] == "http.response.start":
                pid = (b"x-served-by", str(os.getpid()).encode())
                message = {**message, "headers": [*message.get("headers", []), pid]}
            await send(message)

        await example(scope, receive, send_served if scope["type"] == "http" else send)

    return served


def served(example: str, interface: str) -> Any:
    """The app ``example`` names (``module:attribute``), answering with its worker's pid."""
    module, _, name = example.partition(":")
    app = getattr(importlib.import_module(module), name)
    return asgi(app) if interface == "asgi" else wsgi(app)


# (Unset when pytest imports the module for its docstrings: nothing is served then.)
app = served(os.environ["SERVED_EXAMPLE"], os.environ["SERVED_INTERFACE"]) if "SERVED_EXAMPLE" in os.environ else None
