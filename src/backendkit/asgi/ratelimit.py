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

import asyncio
import inspect
from collections.abc import Sequence
from typing import Any

from backendkit._headers import add_headers, channel, open_channel
from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.asgi._respond import ResponseHeaders, send_error_response
from backendkit.asgi._types import ASGIApp, Message, Receive, Scope, Send
from backendkit.errors import ConfigurationError, TooManyRequests
from backendkit.ratelimit import Limit, RequestInfo, Verdict, limit_list


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


async def acheck(limit: Limit, info: RequestInfo, *, per_route: bool) -> Verdict | None:
    """Check ``info`` against ``limit`` from async code: on the loop, or a sync-only store in a worker thread.

    The one rule on every framework: a store that cannot be awaited (``RedisStore``)
    is not refused in async code, it runs off the event loop, at the cost of a
    thread hop per check (tens of microseconds); an ``AsyncRedisStore`` needs none.
    """
    if limit.checks_async:
        return await limit.acheck(info, per_route=per_route)
    return await asyncio.to_thread(limit.check, info, per_route=per_route)


def threadable(limit: Limit) -> Limit:
    """``limit``, checked when built: a sync-only store is checked in a thread, where nothing can be awaited.

    So an ``async def`` key, cost or ``exempt_when`` with such a store is a
    :class:`ConfigurationError` now, not on every request.
    """
    if limit.checks_async:
        return limit
    for name in ("key", "cost", "exempt_when"):
        function = getattr(limit, name)
        called = type(function).__dict__.get("__call__")  # (an instance of a class with ``async def __call__``)
        if inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(called):
            raise ConfigurationError(
                f"the {name} function of {limit!r} is async, and its store ({type(limit.store).__name__}) is "
                "sync-only: it is checked in a worker thread, where nothing is awaited; use an async store "
                "(AsyncRedisStore) or a sync function"
            )
    return limit


class RateLimitMiddleware:
    """Check every HTTP request against ``limits``, in order, before the application sees it.

    Each :class:`~backendkit.ratelimit.Limit` is all-or-nothing over its own
    policies; put policies that must be atomic together in one ``Limit``. A
    middleware's limits count the whole application as one bucket per key
    unless they name a ``scope``. A store that can be awaited (``MemoryStore``,
    ``AsyncRedisStore``) is checked on the event loop; a sync-only one
    (``RedisStore``) in a worker thread (see :func:`acheck`).

    Args:
        app: The ASGI application.
        limits: One limit or several.
    """

    def __init__(self, app: ASGIApp, limits: Limit | Sequence[Limit]) -> None:
        self.app = app
        self.limits = [threadable(limit) for limit in limit_list(limits, setting="RateLimitMiddleware's limits")]
        self._state: AdapterState | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        queued = channel(scope)
        standalone = queued is None  # no backendkit middleware around: this one adds the headers itself
        if queued is None:
            queued = open_channel(scope)
        info = request_info(scope)
        for limit in self.limits:
            verdict = await acheck(limit, info, per_route=False)
            if verdict is None:
                continue
            try:
                verdict.apply(queued)
            except TooManyRequests as refusal:
                if not standalone:
                    raise  # the application's error handling renders it
                await self._refuse(send, refusal, info.path, queued)
                return
        if standalone:
            send = _adding(send, queued)
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, refusal: TooManyRequests, path: str, queued: list[tuple[str, str]]) -> None:
        state = self._state = self._state or AdapterState(Settings())
        await send_error_response(send, state.render(refusal, path=path), queued)


def _adding(send: Send, queued: list[tuple[str, str]]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            add_headers(ResponseHeaders(headers), queued)
            message["headers"] = headers
        await send(message)

    return send_with_headers


__all__ = ["RateLimitMiddleware", "acheck", "request_info", "threadable"]
