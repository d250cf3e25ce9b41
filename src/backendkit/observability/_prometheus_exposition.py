"""Serving the metrics: the format a scraper asks for, multiprocess mode, and apps of their own.

Every way of serving them (the frameworks' ``metrics_routes``, the ASGI and WSGI apps,
the server on a port of its own in ``_prometheus_server``) answers through :func:`render`,
so with the same bytes for the same ``Accept``: OpenMetrics (with exemplars) when asked
for it, else Prometheus's text format 0.0.4; never compressed, never filtered. In
multiprocess mode every scrape first drops the gauges of workers that are gone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector as Collector  # for the server on a port of its own

from backendkit.context import get_request_facts
from backendkit.errors import ConfigurationError

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_multiprocess_registries: dict[str, CollectorRegistry] = {}
_lock = threading.Lock()


def multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR`` when set (multiprocess mode), else ``None``.

    Raises:
        ConfigurationError: It is set, but is not a directory.
    """
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return None
    if not os.path.isdir(directory):
        raise ConfigurationError(f"{MULTIPROC_ENV} is {directory!r}, which is not a directory: create it (empty)")
    return directory


def require_multiprocess_values() -> None:
    """Refuse multiprocess mode when prometheus-client was imported before ``PROMETHEUS_MULTIPROC_DIR`` was set.

    prometheus-client reads the variable once, when it is imported: imported before,
    its metrics keep their values in this process's memory, write no file, and no
    scrape of the directory ever sees them.

    Raises:
        ConfigurationError: The variable is set now, but was not when prometheus-client was imported.
    """
    if values.ValueClass is values.MutexValue:  # the in-memory values: chosen at import, without the variable
        raise ConfigurationError(
            f"{MULTIPROC_ENV} is set, but prometheus_client was imported before it was set, so the metrics "
            "would stay in this process's memory and no scrape would see them: set "
            f"{MULTIPROC_ENV} in the server's environment (the shell, the service unit, the container), "
            "before anything imports prometheus_client, not from Python code"
        )


def exposition_registry(registry: Collector | None = None) -> Collector:
    """What a scrape reads: in multiprocess mode every process's files, else ``registry`` (or the default one)."""
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY if registry is None else registry
    with _lock:
        found = _multiprocess_registries.get(directory)
        if found is None:
            found = _multiprocess_registries[directory] = CollectorRegistry()
            multiprocess.MultiProcessCollector(found, path=directory)  # type: ignore[no-untyped-call]
    return found


def render(accept: str | None = None, registry: Collector | None = None) -> tuple[bytes, str]:
    """The body and ``Content-Type`` of a scrape, in the format ``accept`` (the ``Accept`` header) asks for.

    OpenMetrics when ``accept`` names ``application/openmetrics-text``, else the
    text format 0.0.4. A scrape answered inside a request is left out of the
    request metrics (as a health probe is) and logged at DEBUG.
    """
    facts = get_request_facts()
    if facts is not None:
        facts.monitoring = True
        facts.probe = True
    directory = multiprocess_dir()
    if directory is not None:
        _forget_dead(directory)
    encoder, content_type = choose_encoder(accept or "")
    return encoder(exposition_registry(registry)), content_type


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's in-flight and breaker gauges (multiprocess mode; nothing otherwise).

    Its counters and histograms stay: what it counted still counts.
    """
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook: ``from backendkit.observability.prometheus import child_exit`` in its config."""
    mark_process_dead(worker.pid)


def _forget_dead(directory: str) -> None:
    """Drop the live gauges of workers that are gone (``uvicorn --workers`` has no hook to do it)."""
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        pid = os.path.basename(path)[: -len(".db")].rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):  # another scrape removed it first
                os.remove(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


Environ = MutableMapping[str, Any]
StartResponse = Callable[..., Any]


def make_wsgi_app(registry: Collector | None = None) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """A WSGI app serving the metrics on every path (GET and HEAD; 405 otherwise)."""

    def metrics_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")])
            return [b""]
        body, content_type = render(environ.get("HTTP_ACCEPT"), registry)
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [b"" if method == "HEAD" else body]

    return metrics_app


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def make_asgi_app(registry: Collector | None = None) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app serving the metrics on every path (GET and HEAD; 405 otherwise); it answers lifespan events."""

    async def metrics_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]
                await send({"type": f"{kind}.complete"})  # lifespan.startup, then lifespan.shutdown
                if kind == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            headers = [(b"allow", b"GET, HEAD"), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 405, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        accept = b",".join(value for name, value in scope.get("headers", ()) if name.lower() == b"accept")
        body, content_type = render(accept.decode("latin-1"), registry)
        headers = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

    return metrics_app
