"""Sending a rendered error over ASGI."""

from __future__ import annotations

from collections.abc import Sequence

from backendkit.asgi._types import Send
from backendkit.errors import ErrorResponse


def encode_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """ASGI header pairs from text ones."""
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def send_error_response(send: Send, response: ErrorResponse) -> None:
    """Send a rendered error over ASGI."""
    headers = encode_headers(response.headers)
    headers.append((b"content-length", str(len(response.body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
