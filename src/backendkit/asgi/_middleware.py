"""Pure ASGI middleware: the request id and an error boundary.

No framework is imported here: these classes wrap any ASGI application.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backendkit._headers import add_headers, open_channel
from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.asgi._body import ANSWERED, BodyLimit
from backendkit.asgi._composed import refuse_composed
from backendkit.asgi._respond import ResponseHeaders, send_error_response
from backendkit.asgi._types import ASGIApp, Message, Receive, Scope, Send
from backendkit.asgi.http import HttpMiddleware
from backendkit.errors import APIError, ExceptionRegistry
from backendkit.http import HttpSemantics
from backendkit.security._exchange import OVERRIDES, Exchange

ScopeReader = Callable[[Scope], "str | None"]


def _headers(scope: Scope, wanted: frozenset[bytes]) -> dict[bytes, str]:
    """The ``wanted`` request headers in one pass; repeated ones joined with "," as WSGI servers do."""
    found: dict[bytes, str] = {}
    for key, value in scope.get("headers", ()):
        name = key.lower()
        if name in wanted:
            text = value.decode("latin-1")
            found[name] = f"{found[name]},{text}" if name in found else text
    return found


class RequestContextMiddleware:
    """Request ids, the request's log context, and one access-log line per request.

    A valid incoming id (1-128 characters of ``[A-Za-z0-9._-]``) is kept when the
    settings trust it; anything else, two ids included, is replaced by a fresh
    one. It is echoed in a response header, stored as
    ``scope["state"]["request_id"]`` (``request.state.request_id`` in
    Starlette), and, with the method, client address (behind the proxies the
    ``trusted_proxies`` setting names), route and W3C trace ids, bound for
    every log line of the request.

    Args:
        app: The application.
        state: The adapter state (settings, error handler).
        route_of: Reads the matched route template from the scope, once routed.
        user_of: Reads the authenticated user's id from the scope.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        state: AdapterState | None = None,
        route_of: ScopeReader | None = None,
        user_of: ScopeReader | None = None,
    ) -> None:
        self.app = app
        self.state = state if state is not None else AdapterState(Settings())
        self.header = self.state.header.lower().encode("latin-1")
        self.route_of = route_of
        self.user_of = user_of
        self.forwarding = self.state.forwarding_header  # the one the settings trust, or None
        wanted = {self.header, b"traceparent", b"tracestate", b"user-agent", b"content-length"}
        if self.forwarding is not None:
            wanted.add(self.forwarding)
        self.security = self.state.security
        self.proto = self.state.proto_header
        if self.security is not None:
            wanted |= set(_SECURITY_HEADERS)
            if self.proto is not None:
                wanted.add(self.proto)
        self.wanted = frozenset(wanted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        route_of, user_of = self.route_of, self.user_of
        client = scope.get("client")
        headers = _headers(scope, self.wanted)
        in_flight = self.state.start_request(
            headers.get(self.header),
            traceparent=headers.get(b"traceparent"),
            tracestate=headers.get(b"tracestate"),
            method=scope.get("method"),
            peer=client[0] if client else None,
            forwarded=headers.get(self.forwarding) if self.forwarding is not None else None,
            route=(lambda: route_of(scope)) if route_of is not None else None,
            user_id=(lambda: user_of(scope)) if user_of is not None else None,
            path=scope.get("path", ""),
            scheme=scope.get("scheme", "http"),
            request_size=headers.get(b"content-length"),
        )
        request_state = scope.setdefault("state", {})
        request_state["request_id"] = in_flight.request_id
        header = (self.header, in_flight.request_id.encode("latin-1"))
        exchange = None
        if self.security is not None and scope["type"] == "http":
            exchange = self._exchange(scope, headers, client[0] if client else None)
            request_state["csp_nonce"] = exchange.nonce
        queued = open_channel(scope)  # what inner layers (rate limits) add to whatever response goes out
        status, size, failed, deprecated = 500, 0, False, False
        counts_body = scope.get("method") != "HEAD"  # the server sends no body for HEAD

        async def send_with_id(message: Message) -> None:
            nonlocal status, size, deprecated
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != self.header]
                headers.append(header)
                if queued or exchange is not None:
                    target = ResponseHeaders(headers)
                    add_headers(target, queued)
                    if exchange is not None:
                        exchange.decorate(target, scope.get(OVERRIDES))
                deprecated = any(k.lower() == b"deprecation" for k, _ in headers)  # (for the access line)
                message["headers"] = headers
            elif message["type"] == "http.response.body":
                if counts_body:
                    size += len(message.get("body", b""))
                if not message.get("more_body", False):
                    in_flight.finish()
            await send(message)

        try:
            if exchange is not None and exchange.preflight is not None:
                await self._answer_preflight(exchange, scope, send_with_id)
            elif exchange is not None and exchange.report:
                await self._take_report(scope, receive, send_with_id, headers, in_flight.facts.client_ip)
            else:
                await self.app(scope, receive, send_with_id)
        except BaseException:
            failed = True
            raise
        finally:
            self.state.end_request(
                in_flight,
                path=scope.get("path", ""),
                query=scope.get("query_string", b"").decode("latin-1"),
                status=status,
                response_size=size,
                user_agent=headers.get(b"user-agent"),
                log_access=scope["type"] == "http",
                failed=failed,
                deprecated=deprecated,
            )

    def _exchange(self, scope: Scope, headers: dict[bytes, str], peer: str | None) -> Exchange:
        assert self.security is not None
        proto = headers.get(self.proto) if self.proto is not None else None
        forwarded = headers.get(self.forwarding) if self.forwarding is not None else None
        return self.security.begin(
            scope.get("method", ""),
            scope.get("path", ""),
            origin=headers.get(b"origin"),
            https=self.state.https(scope.get("scheme", "http"), peer, proto, forwarded),
            authorization=b"authorization" in headers or b"x-api-key" in headers,  # (credentials: not for caches)
            request_method=headers.get(b"access-control-request-method"),
            request_headers=headers.get(b"access-control-request-headers"),
            private_network=headers.get(b"access-control-request-private-network") == "true",
        )

    async def _answer_preflight(self, exchange: Exchange, scope: Scope, send: Send) -> None:
        """A preflight, answered before anything inside (authentication, rate limits) sees it."""
        assert exchange.preflight is not None
        if not exchange.preflight.allowed:
            await send_error_response(send, self.state.render(exchange.refusal(), path=scope.get("path", "")))
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def _take_report(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, str], client: str | None
    ) -> None:
        """A CSP violation report: read (at most the limit and a byte), logged, answered 204."""
        assert self.security is not None
        assert self.security.headers is not None
        limit = self.security.headers.report_max_bytes
        method = scope.get("method", "")
        body = b""
        more = method == "POST"  # (a 405 otherwise: no body to read)
        while more and len(body) <= limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            status = self.security.take_report(body, headers.get(b"content-type"), client, method)
        except APIError as error:
            await send_error_response(send, self.state.render(error, path=scope.get("path", "")))
            return
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


_SECURITY_HEADERS = (
    b"origin",
    b"authorization",
    b"x-api-key",
    b"content-type",
    b"access-control-request-method",
    b"access-control-request-headers",
    b"access-control-request-private-network",
)


class ErrorBoundary:
    """Turn an exception that escapes ``app`` into a rendered error response.

    If the response has already started, nothing can be replaced: the exception
    is re-raised for the server to close the connection.
    """

    def __init__(self, app: ASGIApp, *, state: AdapterState | None = None) -> None:
        self.app = app
        self.state = state if state is not None else AdapterState(Settings())

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
            if scope.get(ANSWERED):  # the body limit has answered; the app failed on the disconnect it made up
                raise
            if started:  # too late to answer: log it (with the request's context), then let the server close
                self.state.log_failure(exc, method=scope.get("method", ""), path=scope.get("path", ""))
                raise
            handled = self.state.handle(exc, method=scope.get("method", ""), path=scope.get("path", ""))
            await send_error_response(send, handled.response)


class ErrorMiddleware:
    """Request ids and error envelopes for any ASGI application, in one middleware.

    Starlette and FastAPI users call ``backendkit.starlette.install`` or
    ``backendkit.fastapi.install`` instead, which also place a boundary between
    every pair of middleware.

    Args:
        app: The ASGI application to wrap.
        settings: The shared settings; built from ``options`` when omitted.
        translations: Extra exception registries (framework translations).
        **options: Lower-case setting names, such as ``error_format="problem"`` (with
            ``conditional_requests`` or ``versioning``, the :class:`~backendkit.asgi.http.HttpMiddleware`
            goes inside the request id).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings | None = None,
        translations: tuple[ExceptionRegistry, ...] = (),
        **options: Any,
    ) -> None:
        settings = settings if settings is not None else Settings.from_mapping({}, **options)
        refuse_composed(settings)
        state = AdapterState(settings, translations)
        inner: ASGIApp = ErrorBoundary(app, state=state)
        if settings.max_body_size is not None:
            inner = BodyLimit(inner, limit=settings.max_body_size, state=state)
        semantics = HttpSemantics.from_settings(settings.conditional_requests, settings.versioning)
        if semantics.active:  # inside the request id and CORS: a 304 or a 412 carries their headers
            inner = HttpMiddleware(inner, semantics=semantics, state=state)
        self.app = RequestContextMiddleware(inner, state=state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
