"""Real servers on loopback, in a background thread of the test process.

Running them in-process lets a test add a route (the deliberate bug) to the very
app object the server serves, while every byte still crosses a real socket.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.net import free_port, wait_for_port


@contextmanager
def uvicorn_server(app: Any) -> Iterator[int]:
    """Serve an ASGI app with uvicorn; yields the port."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def waitress_server(app: Any) -> Iterator[int]:
    """Serve a WSGI app with waitress; yields the port.

    Like uvicorn by default, it trusts forwarding headers from loopback (waitress
    otherwise removes them), so tests can play clients behind a local proxy.
    """
    from waitress.server import create_server

    server = create_server(
        app,
        host="127.0.0.1",
        port=0,
        threads=4,
        trusted_proxy="127.0.0.1",
        trusted_proxy_headers="x-forwarded-for",
    )
    port: int = server.effective_port  # type: ignore[union-attr]
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:  # waitress has no stop(): closing its sockets under the loop is how it ends
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, name=f"waitress-{port}", daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield port
    finally:
        stopping.set()
        server.task_dispatcher.shutdown()  # let the worker threads finish what they serve
        server.close()
        thread.join(timeout=10)
