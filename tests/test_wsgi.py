"""A WSGI body the server ends itself: read whole up to the limit, refused past it, never cut."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit._wsgi import terminated_body
from backendkit.errors import ContentTooLarge


class Trickle(io.RawIOBase):
    """A server's input that hands out at most ``step`` bytes per read, as sockets do."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__()
        self._data = io.BytesIO(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), self._step))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def environ(body: bytes, step: int, **more: str) -> dict[str, object]:
    return {"wsgi.input": Trickle(body, step), "wsgi.input_terminated": True, **more}


@given(
    size=st.integers(0, 3000),
    limit=st.integers(0, 3000),
    step=st.integers(1, 5000),
    reads=st.lists(st.integers(1, 700), max_size=8),
)
def test_a_body_is_read_whole_or_refused(size: int, limit: int, step: int, reads: list[int]) -> None:
    body = bytes(range(256)) * (size // 256) + bytes(size % 256)
    stream = terminated_body(environ(body, step), limit)
    assert stream is not None
    got = b""
    try:
        for n in reads:  # some sized reads, then the rest
            got += stream.read(n)
        got += stream.read()
    except ContentTooLarge:
        assert size > limit
        assert len(got) <= limit  # nothing past the limit was handed out
        with pytest.raises(ContentTooLarge):  # and it stays refused
            stream.read()
    else:
        assert size <= limit
        assert got == body


def test_only_a_body_without_a_declared_length_from_a_server_that_ends_it() -> None:
    assert terminated_body(environ(b"{}", 10), None) is None  # no limit: the framework's own way
    assert terminated_body(environ(b"{}", 10, CONTENT_LENGTH="2"), 10) is None  # declared: checked up front
    assert terminated_body({"wsgi.input": io.BytesIO(b"{}")}, 10) is None  # the server does not end it
