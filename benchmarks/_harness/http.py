"""Requests sent straight into an ASGI or a WSGI callable, in process: no server, no sockets, no threads.

The timed loops (``run``) discard the response; ``request`` sends one and returns what came back, for the
checks a benchmark makes before it times anything. A driver sends the same request every time, unless it is
given ``prepare``, which completes each request's copy of the scope (or environ): a header of its own, say.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

Message = dict[str, Any]


class Response(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header's values joined with ", "
    body: bytes


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        lowered = name.lower()
        headers[lowered] = f"{headers[lowered]}, {value}" if lowered in headers else value
    return headers


# --- ASGI -------------------------------------------------------------------------------------------------
def http_scope(method: str, path: str, headers: Iterable[tuple[bytes, bytes]] = (), **more: Any) -> dict[str, Any]:
    """An HTTP scope as a server builds it, from 127.0.0.1:50000 to 127.0.0.1:8000; ``more`` adds or replaces keys."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": list(headers),
        **more,
    }


async def _discard(message: Message) -> None:
    pass


def _answer(body: bytes) -> Callable[[], Any]:
    """A ``receive`` that gives the whole body at every call."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _held(body: bytes) -> Callable[[], Any]:
    """A ``receive`` that gives the body, then waits as a server's does until the response is sent."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}  # pragma: no cover (never reached: the caller is cancelled)

    return receive


class ASGIDriver:
    """Requests sent straight into an ASGI app on one event loop.

    Args:
        app: the ASGI callable.
        loop: the event loop to run on; a new one if not given.
        scope: the request (``http_scope``); each request gets a copy.
        body: the request's body.
        prepare: completes each request's copy of the scope; given, each request also gets a ``receive``
            of its own that, after the body, waits until the response is sent.
        tolerate: exceptions the app may raise after answering (plain FastAPI re-raises its 500s).
    """

    def __init__(
        self,
        app: Any,
        scope: dict[str, Any],
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        body: bytes = b"",
        prepare: Callable[[dict[str, Any]], None] | None = None,
        tolerate: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.app, self.scope, self.body = app, scope, body
        self.loop = loop if loop is not None else asyncio.new_event_loop()
        self.prepare, self.tolerate = prepare, tolerate
        self.receive = _answer(body)
        self.sent = 0

    def _next(self) -> tuple[dict[str, Any], Callable[[], Any]]:
        scope = dict(self.scope)
        if self.prepare is None:
            return scope, self.receive
        self.prepare(scope)
        return scope, _held(self.body)

    async def _many(self, n: int) -> None:
        app, scope, receive, prepare, body = self.app, self.scope, self.receive, self.prepare, self.body
        if prepare is not None:
            for _ in range(n):
                request = dict(scope)
                prepare(request)
                await app(request, _held(body), _discard)
        elif self.tolerate:
            for _ in range(n):
                with contextlib.suppress(*self.tolerate):
                    await app(dict(scope), receive, _discard)
        else:
            for _ in range(n):
                await app(dict(scope), receive, _discard)
        self.sent += n

    def run(self, n: int) -> None:
        """``n`` requests, in one ``run_until_complete``."""
        self.loop.run_until_complete(self._many(n))

    def request(self, scope: dict[str, Any] | None = None) -> Response:
        """One request (this scope, if given), and its response."""
        messages: list[Message] = []

        async def send(message: Message) -> None:
            messages.append(message)

        request, receive = (dict(scope), self.receive) if scope is not None else self._next()
        with contextlib.suppress(*self.tolerate):
            self.loop.run_until_complete(self.app(request, receive, send))
        self.sent += 1
        start = next(m for m in messages if m["type"] == "http.response.start")
        headers = _joined((n.decode("latin-1"), v.decode("latin-1")) for n, v in start.get("headers", ()))
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        return Response(start["status"], headers, body)


# --- WSGI -------------------------------------------------------------------------------------------------
def wsgi_environ(method: str, path: str, **more: Any) -> dict[str, Any]:
    """A WSGI environ for ``method path`` on localhost:80; ``more`` adds or replaces keys (the input: per request)."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        **more,
    }


class WSGIDriver:
    """Requests sent straight into a WSGI callable: each a copy of ``environ`` with a new input stream."""

    def __init__(
        self,
        app: Any,
        environ: dict[str, Any],
        *,
        body: bytes = b"",
        prepare: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.app, self.environ, self.body, self.prepare = app, environ, body, prepare
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.sent = 0

    def _start_response(self, status: str, headers: Any, exc_info: Any = None) -> None:
        self.status, self.headers = status, headers

    def run(self, n: int) -> None:
        """``n`` requests."""
        app, base, body, prepare, start_response = self.app, self.environ, self.body, self.prepare, self._start_response
        for _ in range(n):
            environ = dict(base)
            environ["wsgi.input"] = io.BytesIO(body)
            if prepare is not None:
                prepare(environ)
            result = app(environ, start_response)
            b"".join(result)
            if hasattr(result, "close"):
                result.close()
        self.sent += n

    def request(self) -> Response:
        """One request, and its response."""
        environ = dict(self.environ)
        environ["wsgi.input"] = io.BytesIO(self.body)
        if self.prepare is not None:
            self.prepare(environ)
        result = self.app(environ, self._start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        self.sent += 1
        return Response(int(self.status.split()[0]), _joined(self.headers), body)
