"""A WSGI request body that the server ends itself, read no further than the limit.

A body sent without ``Content-Length`` (``Transfer-Encoding: chunked``) has no
declared size to refuse up front. Servers that read such a body themselves say
so with ``environ["wsgi.input_terminated"]`` (gunicorn, werkzeug's development
server); ``wsgi.input`` then ends where the body ends. Reading it up to the
limit and stopping there, as werkzeug's own limited stream does, hands the
application the first ``limit`` bytes of a larger body as if they were all of
it. Here one byte more than the limit is asked for, and getting it is a 413:
a body is read whole or refused, never cut. The Flask and Django adapters both
read such bodies through :func:`terminated_body`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import IO, Any, BinaryIO

from backendkit.errors import ContentTooLarge


class _Bounded(io.RawIOBase):
    """``stream`` read to its end, refused with :class:`ContentTooLarge` once it gives more than ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = limit
        self._refused = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._refused:
            raise ContentTooLarge()
        view = memoryview(buffer).cast("B")
        data = self._stream.read(min(len(view), self._left + 1))  # the byte past the limit tells
        if len(data) > self._left:
            self._refused = True
            raise ContentTooLarge()
        self._left -= len(data)
        view[: len(data)] = data
        return len(data)


def terminated_body(environ: Mapping[str, Any], limit: int | None) -> BinaryIO | None:
    """The request's body as a stream refused past ``limit`` bytes, when the server ends the body itself.

    Args:
        environ: The WSGI environ (Django's ``request.META``).
        limit: The largest body accepted, in bytes.

    Returns:
        ``None`` when there is nothing to bound here: no limit, a declared
        ``Content-Length`` (which the frameworks check and read up to), or a
        server that does not end the stream (then no length means no body).

    Example:
        >>> environ = {"wsgi.input": io.BytesIO(b"12345"), "wsgi.input_terminated": True}
        >>> terminated_body(environ, 5).read()
        b'12345'
        >>> environ = {"wsgi.input": io.BytesIO(b"123456"), "wsgi.input_terminated": True}
        >>> try:
        ...     terminated_body(environ, 5).read()
        ... except ContentTooLarge as refused:
        ...     print(refused.status)
        413
    """
    if limit is None or not environ.get("wsgi.input_terminated") or environ.get("CONTENT_LENGTH"):
        return None
    return io.BufferedReader(_Bounded(environ["wsgi.input"], limit))


def read_at_most(read: Callable[[int], bytes], size: int) -> bytes:
    """Up to ``size`` bytes from a stream's ``read``: fewer only at its end (one ``read`` may return less).

    Example:
        >>> read_at_most(io.BytesIO(b"123456").read, 4), read_at_most(io.BytesIO(b"12").read, 4)
        (b'1234', b'12')
    """
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)
