"""A JWKS endpoint on loopback that a test can rotate, break, stall, redirect and count."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JWKS_PATH = "/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"


class JWKSServer:
    """Serves ``jwks`` at :data:`JWKS_PATH` and ``discovery`` at :data:`DISCOVERY_PATH`, as ``mode`` says.

    Modes: ``ok``; ``fail`` (500); ``garbage`` (200, not JSON); ``stall`` (answers only
    when closed); ``trickle`` (200, then the body a byte every 50 ms); ``trickle-headers`` (a
    header line every 0.1 s); ``redirect`` (302
    to the same document elsewhere); ``oversize`` (200, a JSON body of ``oversize``
    bytes). ``delay`` seconds pass before any answer.
    """

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.discovery: dict[str, Any] | None = None
        self.mode = "ok"
        self.cache_control: str | None = None
        self.delay = 0.0
        self.oversize = 128 * 1024
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # Handler threads are joined on close (no daemon threads left holding sockets).
        self._server.daemon_threads = False
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=f"jwks-{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base + JWKS_PATH

    def requests(self, path: str = JWKS_PATH) -> int:
        """How many requests for ``path`` arrived (counted before any delay or stall)."""
        with self._lock:
            return self._counts[path]

    def close(self) -> None:
        self._closing.set()  # releases stalled handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle(self) -> None:
                # The client gave up (a timeout, a body cut at max_bytes): as it should.
                with contextlib.suppress(ConnectionError):
                    super().handle()

        return Handler

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        with self._lock:
            self._counts[path] += 1
        if self.mode == "stall":
            self._closing.wait(30)
            return
        if self.delay:
            self._closing.wait(self.delay)
        if self.mode == "trickle-headers":  # a status line, then a header line every 0.1 s, for 10 s
            request.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(100):
                request.wfile.write(b"X-Slow: 1\r\n")
                request.wfile.flush()
                if self._closing.wait(0.1):
                    return
            return
        if path == "/moved" + JWKS_PATH:
            path = JWKS_PATH
        elif self.mode == "redirect":
            request.send_response(302)
            request.send_header("Location", "/moved" + path)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        document = {JWKS_PATH: self.jwks, DISCOVERY_PATH: self.discovery}.get(path)
        if document is None or self.mode == "fail":
            status, body = (404 if document is None else 500), b"{}"
        elif self.mode == "garbage":
            status, body = 200, b"<html>not json</html>"
        elif self.mode == "oversize":
            padding = " " * self.oversize
            status, body = 200, json.dumps({"keys": [], "padding": padding}).encode()
        else:
            status, body = 200, json.dumps(document).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        if self.cache_control is not None:
            request.send_header("Cache-Control", self.cache_control)
        request.end_headers()
        if self.mode != "trickle":
            request.wfile.write(body)
            return
        for byte in body:
            if self._closing.wait(0.05):
                return
            request.wfile.write(bytes([byte]))
            request.wfile.flush()


@contextmanager
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    try:
        yield server
    finally:
        server.close()
