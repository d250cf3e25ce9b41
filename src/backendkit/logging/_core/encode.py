"""JSON encoding of a log line: the stdlib encoder, or orjson with byte-identical output."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Encoder = Callable[[dict[str, Any]], str]


def _plain(value: Any) -> Any:
    fragment_contents = getattr(value, "contents", None)
    if isinstance(fragment_contents, bytes):  # an orjson.Fragment holding a float
        return float(fragment_contents)
    raise TypeError(f"not JSON: {type(value).__name__}")


_STDLIB = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_plain)
_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False, default=_plain)


def _reusable_c_encoder() -> Callable[[dict[str, Any]], str]:
    # JSONEncoder.encode builds a new C encoder on every call; lines hold no cycles
    # (they are sanitised first), so one encoder without the cycle check serves all.
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (PyPy...)
        return _STDLIB.encode
    chunks = make(None, _plain, json.encoder.encode_basestring, None, ":", ",", False, False, False)

    def encode(line: dict[str, Any]) -> str:
        return "".join(chunks(line, 0))

    return encode


_encode_fast = _reusable_c_encoder()


_SEPARATORS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _one_line(text: str) -> str:
    # JSON allows U+0085, U+2028 and U+2029 raw, but str.splitlines() and many
    # log shippers break lines on them: escape them so a record stays one line.
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        return text.translate(_SEPARATORS)
    return text


def encode_stdlib(line: dict[str, Any]) -> str:
    """Compact JSON on one line; text UTF-8 cannot carry (a lone surrogate) is escaped instead."""
    text = _encode_fast(line)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _ASCII.encode(line)
    return _one_line(text)


def orjson_encoding() -> tuple[Encoder, Callable[[float], Any]] | None:
    """orjson's encoder and the float hook that keeps its output identical, or ``None`` without orjson.

    orjson spells small exponents without the zero padding ``repr`` uses
    (``1e-7`` for ``1e-07``), and before 3.11.7 large ones without the sign
    (``1e16`` for ``1e+16``); such floats are handed to it as raw fragments.
    """
    try:
        import orjson
    except ImportError:
        return None
    dumps = orjson.dumps
    fragment = orjson.Fragment

    def float_hook(value: float) -> Any:
        if value != 0.0 and not 1e-4 <= abs(value) < 1e16:
            return fragment(repr(value).encode("ascii"))
        return value

    def encode(line: dict[str, Any]) -> str:
        try:
            text: str = dumps(line).decode()
        except TypeError:  # orjson.JSONEncodeError: a lone surrogate; the exact path escapes it
            return encode_stdlib(line)
        return text if text.isascii() else _one_line(text)

    return encode, float_hook
