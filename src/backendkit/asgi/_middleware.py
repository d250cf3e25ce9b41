"""Pure ASGI middleware: the request id and an error boundary.

No framework is imported here: these classes wrap any ASGI application.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backendkit._runtime import log_unhandled, new_request_id
from backendkit._settings import Settings
from backendkit.asgi._types import ASGIApp, Message, Receive, Scope, Send
from backendkit.context import REQUEST_ID_HEADER, choose_request_id, request_id_var
from backendkit.errors import ErrorHandler, ErrorResponse, ExceptionRegistry


class RequestContextMiddleware:
    """Give every request an id, expose it on a contextvar and echo it in a response header.

    A valid incoming id (1-128 characters of ``[A-Za-z0-9._-]``) is kept when
    ``trust_incoming`` is on; anything else is replaced by a fresh id. The id is
    also stored as ``scope["state"]["request_id"]`` (``request.state.request_id``
    in Starlette).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        header: str = REQUEST_ID_HEADER,
        trust_incoming: bool = True,
        generate: Callable[[], str] = new_request_id,
    ) -> None:
        self.app = app
        self.header = header.lower().encode("latin-1")
        self.trust_incoming = trust_incoming
        self.generate = generate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope.get("headers", ()) if k.lower() == self.header), None)
        request_id = choose_request_id(
            incoming.decode("latin-1") if incoming is not None else None,
            trust_incoming=self.trust_incoming,
            generate=self.generate,
        )
        scope.setdefault("state", {})["request_id"] = request_id
        header = (self.header, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != self.header]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class ErrorBoundary:
    """Turn an exception that escapes ``app`` into a rendered error response.

    If the response has already started, nothing can be replaced: the exception
    is re-raised for the server to close the connection.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        handler: ErrorHandler | None = None,
        fallbacks: tuple[ExceptionRegistry, ...] = (),
    ) -> None:
        self.app = app
        self.handler = handler if handler is not None else ErrorHandler()
        self.fallbacks = fallbacks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch_send)
        except Exception as exc:
            if started:
                raise
            request_id = request_id_var.get()
            handled = self.handler.handle(
                exc, request_id=request_id, instance=scope.get("path"), fallbacks=self.fallbacks
            )
            log_unhandled(
                exc, handled, request_id=request_id, method=scope.get("method", ""), path=scope.get("path", "")
            )
            await send_error_response(send, handled.response)


async def send_error_response(send: Send, response: ErrorResponse) -> None:
    """Send a rendered error over ASGI."""
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


class ErrorMiddleware:
    """Request ids and error envelopes for any ASGI application, in one middleware.

    Starlette and FastAPI users call ``backendkit.starlette.install`` or
    ``backendkit.fastapi.install`` instead, which also place a boundary between
    every pair of middleware.

    Args:
        app: The ASGI application to wrap.
        settings: The shared settings; built from ``options`` when omitted.
        fallbacks: Extra exception registries (framework translations).
        **options: Lower-case setting names, such as ``error_format="problem"``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings | None = None,
        fallbacks: tuple[ExceptionRegistry, ...] = (),
        **options: Any,
    ) -> None:
        settings = settings if settings is not None else Settings.from_mapping({}, **options)
        boundary = ErrorBoundary(app, handler=settings.error_handler(), fallbacks=fallbacks)
        self.app = RequestContextMiddleware(
            boundary, header=settings.request_id_header, trust_incoming=settings.trust_request_id
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
