"""ASGI responses: a rendered error sent, and a response's headers as the header channel writes them."""

from __future__ import annotations

from collections.abc import Sequence

from backendkit._headers import add_headers
from backendkit.asgi._types import Send
from backendkit.errors import ErrorResponse


def encode_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """ASGI header pairs from text ones."""
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def send_error_response(send: Send, response: ErrorResponse, queued: Sequence[tuple[str, str]] = ()) -> None:
    """Send a rendered error over ASGI, with the ``queued`` headers of the request's channel added."""
    headers = encode_headers(response.headers)
    if queued:
        add_headers(ResponseHeaders(headers), queued)
    headers.append((b"content-length", str(len(response.body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


_NAMES: dict[str, bytes] = {}
_MAX_NAMES = 256  # the names come from the code and the settings: a bound all the same


def _name(name: str) -> bytes:
    """A header name as an ASGI response carries it (lower case, latin-1), encoded once per name."""
    key = _NAMES.get(name)
    if key is None:
        key = name.lower().encode("latin-1")
        if len(_NAMES) < _MAX_NAMES:
            _NAMES[name] = key
    return key


class ResponseHeaders:
    """An ASGI response's header pairs seen as a :class:`~backendkit._headers.HeaderTarget`.

    Names are compared case-insensitively (lower-cased once, here); a field set
    through it is written lower-case.
    """

    __slots__ = ("names", "pairs")

    def __init__(self, pairs: list[tuple[bytes, bytes]]) -> None:
        self.pairs = pairs
        self.names = [name.lower() for name, _ in pairs]  # a handful: a list scan beats building a dict

    def get(self, name: str) -> str | None:
        """The field's lines joined with ", ", or ``None``."""
        key = _NAMES.get(name) or _name(name)
        names = self.names
        if key not in names:
            return None
        if names.count(key) == 1:
            return self.pairs[names.index(key)][1].decode("latin-1")
        values = [value for (_, value), lowered in zip(self.pairs, names, strict=True) if lowered == key]
        return b", ".join(values).decode("latin-1")

    def __setitem__(self, name: str, value: str) -> None:
        key = _NAMES.get(name) or _name(name)
        if key in self.names:
            kept = [(pair, lowered) for pair, lowered in zip(self.pairs, self.names, strict=True) if lowered != key]
            self.pairs[:] = [pair for pair, _ in kept]
            self.names[:] = [lowered for _, lowered in kept]
        self.pairs.append((key, value.encode("latin-1")))
        self.names.append(key)

    def setdefault(self, name: str, value: str, /) -> None:
        """Add the field unless the response has it already."""
        key = _NAMES.get(name) or _name(name)
        if key not in self.names:
            self.pairs.append((key, value.encode("latin-1")))
            self.names.append(key)
