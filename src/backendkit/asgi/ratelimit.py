"""Rate limits for any ASGI application: a middleware for limits that cover every request.

Per-route limits belong to the framework adapters (``backendkit.fastapi.ratelimit``).
With ``backendkit.starlette.install`` or ``backendkit.fastapi.install`` (or
``ErrorMiddleware``) around it, a refusal is rendered by the application's error
handling; on its own, the middleware renders the default envelope itself.

Example:
    >>> from backendkit.asgi.ratelimit import RateLimitMiddleware
    >>> from backendkit.ratelimit import Limit
    >>> async def app(scope, receive, send): ...
    >>> app = RateLimitMiddleware(app, Limit("100/minute"))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.asgi._middleware import RESPONSE_HEADERS, merge_headers
from backendkit.asgi._respond import send_error_response
from backendkit.asgi._types import ASGIApp, Message, Receive, Scope, Send
from backendkit.ratelimit import Limit, RequestInfo


def request_info(scope: Scope, native: Any = None) -> RequestInfo:
    """The framework-neutral view of an ASGI request; ``native`` defaults to the scope."""

    def header(name: str) -> list[str]:
        wanted = name.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == wanted]

    client = scope.get("client")
    return RequestInfo(
        method=scope.get("method", ""),
        path=scope.get("path", ""),
        peer=client[0] if client else None,
        headers=header,
        native=scope if native is None else native,
    )


def pending_headers(scope: Scope) -> list[tuple[str, str]] | None:
    """The list of headers the request-context middleware will add to the response, if it runs."""
    pending: list[tuple[str, str]] | None = scope.get(RESPONSE_HEADERS)
    return pending


class RateLimitMiddleware:
    """Check every HTTP request against ``limits``, in order, before the application sees it.

    Each :class:`~backendkit.ratelimit.Limit` is all-or-nothing over its own
    policies; put policies that must be atomic together in one ``Limit``. A
    middleware's limits count the whole application as one bucket per key
    unless they name a ``scope``. Stores must be async (``MemoryStore``,
    ``AsyncRedisStore``): a sync Redis client would block the event loop, and
    is refused at start-up.

    Args:
        app: The ASGI application.
        limits: One limit or several.
    """

    def __init__(self, app: ASGIApp, limits: Limit | Sequence[Limit]) -> None:
        self.app = app
        self.limits = [limits] if isinstance(limits, Limit) else list(limits)
        for limit in self.limits:
            limit.async_limiter  # noqa: B018  (a configuration error now rather than on the first request)
        self._state: AdapterState | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pending: list[tuple[str, str]] | None = scope.get(RESPONSE_HEADERS)
        standalone = pending is None
        if pending is None:
            pending = scope[RESPONSE_HEADERS] = []
        info = request_info(scope)
        for limit in self.limits:
            verdict = await limit.acheck(info, per_route=False)
            if verdict is None:
                continue
            if verdict.error is not None:
                if not standalone:
                    raise verdict.error  # the application's error handling renders it
                state = self._state = self._state or AdapterState(Settings())
                response = state.render(verdict.error, path=info.path)
                await send_error_response(send, replace(response, headers=tuple(_merged(response.headers, pending))))
                return
            pending += verdict.headers
        if standalone:
            send = _adding(send, pending)
        await self.app(scope, receive, send)


def _merged(headers: Sequence[tuple[str, str]], extra: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    merged = merge_headers([(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers], extra)
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in merged]


def _adding(send: Send, pending: list[tuple[str, str]]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = merge_headers(list(message.get("headers", ())), pending)
        await send(message)

    return send_with_headers


__all__ = ["RateLimitMiddleware", "pending_headers", "request_info"]
