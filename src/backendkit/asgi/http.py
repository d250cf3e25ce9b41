"""HTTP semantics for any ASGI application: conditional requests, deprecation headers, API versions.

:class:`HttpMiddleware` translates between ASGI messages and
:class:`~backendkit.http.HttpSemantics`: it begins each request's exchange before
routing (a malformed ``If-Match``, an unknown or retired API version are answered
there), and hands every response, errors included, to
:meth:`~backendkit.http.HttpExchange.finish`, which says what goes out (the ETag,
a 304 in place of a 200, ``Deprecation``/``Sunset``/``Link``, ``Vary``). It decides
nothing itself.

``backendkit.starlette.install`` and ``backendkit.fastapi.install`` place it inside
the request-id and CORS/security layer (a 304 or a 412 still carries their
headers) and outside the application's middleware and routes, when the
``conditional_requests`` or ``versioning`` setting is given.

Example:
    >>> from backendkit.asgi.http import HttpMiddleware
    >>> from backendkit.http import HttpSemantics
    >>> async def app(scope, receive, send): ...
    >>> app = HttpMiddleware(app, semantics=HttpSemantics.from_settings(True, None))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from backendkit._headers import channel
from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.asgi._respond import encode_headers, send_error_response
from backendkit.asgi._types import ASGIApp, Message, Receive, Scope, Send
from backendkit.errors import APIError, ConfigurationError, ErrorResponse
from backendkit.http import (
    SAFE_READS,
    Deprecation,
    Finished,
    HttpExchange,
    HttpSemantics,
    Preconditions,
    api_version_var,
    carried_headers,
    gone,
    request_preconditions,
)

EXCHANGE = "backendkit.http_exchange"
_QUEUED_LINKS = "backendkit.http_deprecation_links"  # (the links deprecate() queued, to take back)
"""The key of the request's :class:`~backendkit.http.HttpExchange` in the ASGI scope."""


def header_getter(scope: Scope) -> Callable[[str], str | None]:
    """A request header by name (any case) from the scope; repeated lines joined with ", "."""
    pairs = scope.get("headers", ())

    def header(name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        found = [value.decode("latin-1") for key, value in pairs if key.lower() == wanted]
        return ", ".join(found) if found else None

    return header


def exchange_of(scope: Scope) -> HttpExchange | None:
    """The request's exchange, or None when no :class:`HttpMiddleware` with an active setting is around."""
    exchange: HttpExchange | None = scope.get(EXCHANGE)
    return exchange


_SENDING, _EMPTYING, _SWALLOWING = 0, 1, 2


def preconditions_of(scope: Scope, *, required: bool = False) -> Preconditions:
    """The request's :class:`~backendkit.http.Preconditions`, as the framework helpers hand them to a route.

    The exchange's conditions when the conditional layer has read them (GET and HEAD), else read here.

    Raises:
        BadRequest: 400 ``MALFORMED_PRECONDITION`` for a malformed ``If-Match``.
        PreconditionRequired: 428 for a ``required`` unsafe request without a precondition.
    """
    method = scope.get("method", "GET")
    return request_preconditions(exchange_of(scope), method, header_getter(scope), required=required)


def deprecate(scope: Scope, deprecation: Deprecation, *, now: float | None = None) -> None:
    """Mark the request's route deprecated: its answers, errors included, carry ``deprecation``'s headers.

    With :class:`HttpMiddleware` around (an active setting), the exchange adds them; without,
    they go through the header channel that the request-id layer adds to any response.

    Raises:
        Gone: 410 ``GONE``, with the headers, past a sunset that retires the route.
        ConfigurationError: Neither ``install()`` nor ``ErrorMiddleware`` is around the app.
    """
    now = time.time() if now is None else now
    exchange = exchange_of(scope)
    if exchange is not None:
        exchange.deprecate(deprecation, now=now)
        return
    if deprecation.is_gone(now):
        raise gone(deprecation)
    queued = channel(scope)
    if queued is None:
        raise ConfigurationError("a deprecated route needs backendkit's install() (or ErrorMiddleware) around the app")
    # One deprecation per answer, the last applied (the route's, after its router's): an earlier one's
    # headers are taken back, not joined (Deprecation and Sunset hold one date each).
    earlier = scope.get(_QUEUED_LINKS)
    queued[:] = [
        (name, value)
        for name, value in queued
        if name not in ("Deprecation", "Sunset") and not (name == "Link" and value == earlier)
    ]
    queued.extend(deprecation.headers)
    scope[_QUEUED_LINKS] = deprecation.links
    if deprecation.links is not None:
        queued.append(("Link", deprecation.links))


def _text(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


class HttpMiddleware:
    """Conditional requests, deprecation headers and API versions on every HTTP request (see the module).

    Args:
        app: The ASGI application.
        semantics: The two settings, as :meth:`HttpSemantics.from_settings` reads them; when
            neither is on, every request passes straight through.
        state: The adapter state (renders the errors answered here); a default one otherwise.
    """

    def __init__(self, app: ASGIApp, *, semantics: HttpSemantics, state: AdapterState | None = None) -> None:
        self.app = app
        self.semantics = semantics
        self.state = state if state is not None else AdapterState(Settings())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.semantics.active:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        header = header_getter(scope)
        try:
            exchange = self.semantics.begin(method, scope.get("path", ""), header, now=time.time())
        except APIError as refusal:  # (a retired version's 410 carries its own deprecation headers)
            await send_error_response(send, self.state.render(refusal, path=scope.get("path", "")))
            return
        scope[EXCHANGE] = exchange
        scope.setdefault("state", {})["api_version"] = exchange.version
        token = api_version_var.set(exchange.version)
        finishing = _Finishing(self, scope, exchange, send)
        try:
            await self.app(scope, receive, finishing.send)
        except Exception as exc:
            if finishing.held is None:  # (what was sent is sent: the layers around know what to do)
                raise
            # A failure while the start was held for hashing: nothing went out, so the answer is still
            # the error's, rendered as the error boundary inside would have had it been able to.
            finishing.held, finishing.buffered = None, []
            handled = self.state.handle(exc, method=method, path=scope.get("path", ""))
            await finishing.send_rendered(handled.response)
        finally:
            api_version_var.reset(token)


class _Finishing:
    """One response on its way out: held while its body is hashed, then finished as the exchange says."""

    __slots__ = ("buffered", "dropping", "exchange", "held", "layer", "method", "out", "scope", "size")

    def __init__(self, layer: HttpMiddleware, scope: Scope, exchange: HttpExchange, send: Send) -> None:
        self.layer = layer
        self.scope = scope
        self.exchange = exchange
        self.method = scope.get("method", "GET")
        self.out = send
        self.held: Message | None = None  # a 200 GET/HEAD start, while its body is read for its ETag
        self.buffered: list[bytes] = []
        self.size = 0
        self.dropping = _SENDING  # what becomes of the body: sent, emptied (a 304), or swallowed (an error sent)

    def _hashes(self, status: int, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether to hold this start while its body is read: a 200 GET/HEAD of a known length up to ``max_body``.

        A body without a ``Content-Length`` is a stream (server-sent events, a long poll): it goes out
        as it comes, untagged, as Flask's and Django's streamed responses do.
        """
        conditional = self.layer.semantics.conditional
        if conditional is None or not conditional.auto_etag or status != 200 or self.method not in SAFE_READS:
            return False
        length = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"etag":
                return False
            if lowered == b"content-length":
                length = value
        return length is not None and length.isdigit() and int(length) <= conditional.max_body

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = list(message.get("headers", ()))
            if self._hashes(message["status"], headers):
                self.held = message
                return
            await self._start(message, None)
        elif kind == "http.response.body" and self.held is not None:
            chunk = message.get("body", b"")
            self.buffered.append(chunk)
            self.size += len(chunk)
            more = message.get("more_body", False)
            conditional = self.layer.semantics.conditional
            assert conditional is not None
            if not more:
                await self._release(self._whole_body(), more=False)
            elif self.size > conditional.max_body:
                await self._release(None, more=True)  # too large to hash: sent untagged, as it comes
        elif kind == "http.response.body" and self.dropping != _SENDING:
            if self.dropping == _EMPTYING and not message.get("more_body", False):
                await self.out({"type": "http.response.body", "body": b""})
        else:
            if self.held is not None:  # (a body this layer cannot read, such as a pathsend: untagged)
                await self._release(None, more=True)
            await self.out(message)

    def _whole_body(self) -> bytes | None:
        body = b"".join(self.buffered)
        if self.method == "HEAD" and not body:
            # The framework dropped a HEAD's body (a FileResponse does): its bytes are not known, so no ETag.
            held = self.held
            assert held is not None
            lengths = [v for k, v in held.get("headers", ()) if k.lower() == b"content-length"]
            if lengths and lengths[0] != b"0":
                return None
        return body

    async def _release(self, body: bytes | None, *, more: bool) -> None:
        held, chunks = self.held, self.buffered
        assert held is not None
        self.held, self.buffered = None, []
        await self._start(held, body)
        if self.dropping == _SENDING:
            await self.out({"type": "http.response.body", "body": b"".join(chunks), "more_body": more})
        elif self.dropping == _EMPTYING and not more:
            await self.out({"type": "http.response.body", "body": b""})

    async def _start(self, message: Message, body: bytes | None) -> None:
        """Finish and send the response's start, or the error the exchange puts in its place."""
        headers = _text(list(message.get("headers", ())))
        done = self.exchange.finish(message["status"], headers, body, now=time.time())
        if done.error is not None:
            await self._send_error(done.error, carrying=headers)
            self.dropping = _SWALLOWING
            return
        self.dropping = _SENDING if done.send_body else _EMPTYING
        await self.out({**message, "status": done.status, "headers": encode_headers(done.headers)})

    async def _send_error(self, error: APIError, *, carrying: list[tuple[str, str]]) -> None:
        await self.send_rendered(self.layer.state.render(error, path=self.scope.get("path", "")), carrying=carrying)

    async def send_rendered(self, rendered: ErrorResponse, *, carrying: Sequence[tuple[str, str]] = ()) -> None:
        """Send an error response, finished by the exchange, in place of what the route made.

        ``carrying``: the headers of that answer, of which the error keeps what the app's own
        middleware and route added (its cookies, its fields; see :func:`~backendkit.http.carried_headers`).
        """
        self.dropping = _SWALLOWING
        fields = list(rendered.headers)
        fields += carried_headers(list(carrying), fields)
        done: Finished = self.exchange.finish(rendered.status, fields, None, now=time.time())
        headers = encode_headers(done.headers)
        headers.append((b"content-length", str(len(rendered.body)).encode("latin-1")))
        await self.out({"type": "http.response.start", "status": done.status, "headers": headers})
        await self.out({"type": "http.response.body", "body": rendered.body})


__all__ = ["EXCHANGE", "HttpMiddleware", "deprecate", "exchange_of", "header_getter", "preconditions_of"]
