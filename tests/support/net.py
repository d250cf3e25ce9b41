"""Loopback helpers: free ports and plain HTTP requests over a real socket."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass(frozen=True)
class Reply:
    """An HTTP response as the conformance suite compares it."""

    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


Headers = dict[str, str] | list[tuple[str, str | bytes]]


def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: Headers | None = None,
    body: bytes | None = None,
    source: str | None = None,
) -> Reply:
    """Send one request; ``headers`` may repeat a name or carry raw bytes, as real clients can.

    ``source`` is the loopback address to send from (``127.0.0.2``...), so that a test can
    play several clients on one machine.
    """
    source_address = (source, 0) if source is not None else None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=source_address)
    try:
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in pairs:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        merged: dict[str, str] = {}
        for name, value in resp.getheaders():
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return Reply(resp.status, merged, resp.read())
    finally:
        conn.close()


class Blackhole:
    """A TCP server on loopback that accepts every connection and never answers: a hung Redis.

    ``accepted`` counts the connections made to it, so a test can tell how many
    attempts a client made without timing them.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.05)  # so the accepting thread sees the stop flag
        self.port: int = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"blackhole-{self.port}", daemon=True)
        self._thread.start()

    @property
    def accepted(self) -> int:
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            for conn in self._held:
                conn.close()


@contextmanager
def blackhole() -> Iterator[Blackhole]:
    """A :class:`Blackhole` for the duration of the block."""
    hole = Blackhole()
    try:
        yield hole
    finally:
        hole.close()
