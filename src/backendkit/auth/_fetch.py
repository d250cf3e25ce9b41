"""One bounded ``GET`` with the standard library, for the JWKS client: the URL rules and the fetch.

``https`` only (plain ``http`` only to a loopback host), no user information,
redirects refused (a 3xx is a failure), the body capped, and connect, headers and
body together bounded by one deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from urllib.parse import SplitResult, urlsplit


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # 127.0.0.0/8 and ::1
    except ValueError:
        return False


def parse_url(url: object, what: str, allow_http_loopback: bool) -> SplitResult:
    """``url`` taken apart, or ``ValueError`` unless it is https (or http to a loopback host if allowed)."""
    if not isinstance(url, str):
        raise ValueError(f"{what} is a URL string, not {type(url).__name__}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here, not at the first fetch
    except ValueError as exc:
        raise ValueError(f"{what} {url!r} is not a URL: {exc}") from None
    if not parts.hostname or parts.username is not None:
        raise ValueError(f"{what} {url!r} needs a host and no user:password@")
    if parts.scheme == "https" or (parts.scheme == "http" and allow_http_loopback and is_loopback(parts.hostname)):
        return parts
    allowed = "https (or http to a loopback host)" if allow_http_loopback else "https"
    raise ValueError(f"{what} must be {allowed}: {url!r}")


class Refused(Exception):
    """A response that is not a usable document: a status other than 200, or a body too large."""


# What a fetch is expected to fail with (anything else is logged with its traceback, as a bug).
EXPECTED = (OSError, http.client.HTTPException, ValueError, Refused)


def get(parts: SplitResult, timeout: float, max_bytes: int) -> tuple[bytes, str | None]:
    """One ``GET``: the body and its ``Cache-Control``; connect, headers and body all within ``timeout``."""
    deadline = time.monotonic() + timeout
    https = parts.scheme == "https"
    # An explicit port always: given none, http.client would read one out of an IPv6 literal.
    host, port = parts.hostname or "", parts.port or (443 if https else 80)
    conn: http.client.HTTPConnection
    if https:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target, headers={"Accept": "application/json", "User-Agent": "backendkit"})
        sock = conn.sock  # kept: the response may take the connection over and clear conn.sock
        assert sock is not None
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        # A socket timeout bounds each read, not the status line and headers together (a server can
        # trickle header lines): at the deadline, a watchdog shuts the socket and the read fails.
        watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), _shut, (sock,))
        watchdog.daemon = True
        watchdog.start()
        try:
            response = conn.getresponse()
        except (OSError, http.client.HTTPException):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no response headers within {timeout}s") from None
            raise
        finally:
            watchdog.cancel()
        if response.status != 200:  # a 3xx too: a redirect is never followed
            raise Refused(f"HTTP {response.status}")
        body = bytearray()
        while len(body) <= max_bytes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete response within {timeout}s")
            sock.settimeout(remaining)  # each read gets what is left, so a trickle cannot stretch the total
            chunk = response.read1(max_bytes + 1 - len(body))
            if not chunk:
                break
            body += chunk
        if len(body) > max_bytes:
            raise Refused(f"a body larger than {max_bytes} bytes")
        return bytes(body), response.getheader("Cache-Control")
    finally:
        conn.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


__all__ = ["EXPECTED", "Refused", "get", "is_loopback", "parse_url"]
