"""Loopback helpers: free ports and plain HTTP requests over a real socket."""

from __future__ import annotations

import http.client
import socket
import time
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


def request(port: int, method: str, path: str, *, headers: Headers | None = None, body: bytes | None = None) -> Reply:
    """Send one request; ``headers`` may repeat a name or carry raw bytes, as real clients can."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
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
