"""The metrics on a port of their own: a small HTTP server, in a thread, answering what the endpoints answer.

It serves through :func:`~backendkit.observability._prometheus_exposition.render`, as
``metrics_routes`` and the ASGI and WSGI apps do: the same format negotiation, the
same bytes (no compression, no ``name[]`` filter), GET and HEAD, and in multiprocess
mode the same clean-up of the gauges of workers that are gone.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from backendkit.observability._prometheus_exposition import Collector, render

logger = logging.getLogger("backendkit.observability")


class MetricsServer(ThreadingHTTPServer):
    """A threading HTTP server whose every path answers the metrics of ``registry``."""

    daemon_threads = True  # a scrape in progress never holds the process open

    def __init__(self, addr: str, port: int, registry: Collector | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.registry = registry
        super().__init__((addr, port), _MetricsHandler)


class _MetricsHandler(BaseHTTPRequestHandler):
    server: MetricsServer
    server_version = "backendkit-metrics"

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _refuse(self) -> None:
        self._reply(405, b"", "text/plain; charset=utf-8", [("Allow", "GET, HEAD")], send_body=False)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _refuse  # noqa: N815  (others: 501, from http.server)

    def _answer(self, *, send_body: bool) -> None:
        accept = ",".join(self.headers.get_all("Accept") or ())
        try:
            body, content_type = render(accept, self.server.registry)
        except Exception:  # e.g. the multiprocess directory went away: the scraper sees a 500, the log says why
            logger.exception("the metrics could not be rendered")
            self._reply(500, b"metrics unavailable\n", "text/plain; charset=utf-8", [], send_body=send_body)
            return
        self._reply(200, body, content_type, [], send_body=send_body)

    def _reply(
        self, status: int, body: bytes, content_type: str, headers: list[tuple[str, str]], *, send_body: bool
    ) -> None:
        self.send_response(status)
        for name, value in [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]:
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("metrics server: %s", format % args)


def start_metrics_server(
    port: int, addr: str = "127.0.0.1", registry: Collector | None = None
) -> tuple[MetricsServer, threading.Thread]:
    """Serve the metrics on a port of their own, in a daemon thread: keep them off the public listener.

    Every path answers GET and HEAD with what ``metrics_routes`` would answer
    (405 for the other usual methods). Bound to loopback by default; give
    ``addr="0.0.0.0"`` (or ``"::"``) for a scraper on another host, behind your
    network's rules. In multiprocess mode, start it once (in gunicorn's
    ``when_ready`` hook, in the master), not in each worker.

    Args:
        port: The port to listen on (``0``: one the system picks, in ``server.server_address``).
        addr: The address to bind to.
        registry: What to serve outside multiprocess mode (prometheus-client's default registry when ``None``).

    Returns:
        The server and its thread (``server.shutdown()`` then ``server.server_close()`` stop it).
    """
    server = MetricsServer(addr, port, registry)
    thread = threading.Thread(target=server.serve_forever, name="backendkit-metrics", daemon=True)
    thread.start()
    return server, thread
