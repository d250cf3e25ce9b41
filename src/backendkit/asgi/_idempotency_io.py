"""The ASGI plumbing of :mod:`backendkit.asgi.idempotency`: the request's headers and body read, the
response captured, a replay sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from backendkit.asgi._types import Message, Receive, Send
from backendkit.idempotency import Idempotency, Replay

if TYPE_CHECKING:
    from backendkit.asgi.idempotency import Slot

_KEY_HEADER = b"idempotency-key"
_NO_LENGTH = (204, 304)  # (RFC 9110: no Content-Length on a 204; a 304's would describe another body)


class Headers:
    """What the middleware reads from a request's headers, in one pass over them."""

    __slots__ = ("api_key", "api_key_header", "content_type", "key_values", "keys")

    def __init__(self, headers: Iterable[tuple[bytes, bytes]], keys: Idempotency, api_key_header: bytes | None) -> None:
        self.keys = keys  # whose API key header was read
        self.api_key_header = api_key_header  # (its name, lower case)
        self.key_values: list[str] = []
        self.content_type: str | None = None  # (the first field line, as the request's media type)
        self.api_key: str | None = None
        for name, value in headers:
            name = name.lower()  # (lower case already from a server that follows the spec)
            if name == _KEY_HEADER:
                self.key_values.append(value.decode("latin-1"))
            elif name == b"content-type":
                if self.content_type is None:
                    self.content_type = value.decode("latin-1")
            elif name == api_key_header and self.api_key is None:  # (part of the scope: known before routing)
                self.api_key = value.decode("latin-1")


class Captured:
    """A response as it goes out: kept whole unless it streams, outgrows the limit or is not plain ASGI."""

    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.kept = True
        self.complete = False  # the last body message was sent

    def add(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = int(message["status"])
            self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())]
        elif kind == "http.response.body":
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            self.size += len(chunk)
            keys = self.slot.idempotency
            if (more and chunk) or keys is None or self.size > keys.max_size:
                self.kept = False  # streamed, or too large
            if self.kept:
                self.chunks.append(chunk)
            else:
                self.chunks = []
            self.complete = not more
        else:  # http.response.pathsend, trailers, zero-copy...: a body this middleware never sees
            self.kept, self.chunks = False, []
            self.complete = True

    def body(self) -> bytes | None:
        return b"".join(self.chunks) if self.kept else None


async def buffered(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole request body (``None``: the client left first), and a ``receive`` that gives it again."""
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):  # (most bodies: one message)
        body = message.get("body", b"")
        return body, _replaying([{"type": "http.request", "body": body, "more_body": False}], receive)
    chunks: list[bytes] = []
    while True:
        if message["type"] != "http.request":  # the client went away: no key is taken for half a body
            return None, _replaying([message], receive)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
        message = await receive()
    body = b"".join(chunks)
    return body, _replaying([{"type": "http.request", "body": body, "more_body": False}], receive)


def _replaying(first: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        if first:
            return first.pop(0)
        return await receive()

    return replayed


async def send_replay(send: Send, replay: Replay) -> None:
    """The stored response, with ``Idempotent-Replayed: true`` (its headers encoded once per record)."""
    response = replay.response
    headers = list(replay.raw_headers)
    if response.status not in _NO_LENGTH:
        headers.append((b"content-length", b"%d" % len(response.body)))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


__all__ = ["Captured", "Headers", "buffered", "send_replay"]
