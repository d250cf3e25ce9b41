"""Compact JWS, taken apart strictly: the size cap first, then base64url, then JSON objects.

Pure: no I/O, no JOSE library. Everything a token could use to make the verifier
do work happens here, bounded, before any key is chosen or any signature checked:
the length is capped before decoding, base64url must be canonical (no padding,
no spare bits), and the JSON must be objects with no duplicate members, nesting
at most :data:`MAX_DEPTH` deep, and no ``NaN``/``Infinity``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, NamedTuple

from backendkit.auth._core.errors import InvalidToken

DEFAULT_MAX_SIZE = 8192
"""The longest token accepted, in characters (8 KiB): longer ones are refused before any decoding."""

MAX_DEPTH = 16
"""The deepest nesting of objects and arrays a header or payload may have (Keycloak's claims need 3)."""

_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class CompactJWS(NamedTuple):
    """A compact JWS taken apart; nothing in it is trusted yet."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def b64url_decode(part: str) -> bytes:
    """Decode unpadded, canonical base64url; ``ValueError`` for anything else."""
    if len(part) % 4 == 1:
        raise ValueError("impossible base64url length")
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    # Canonical: the spare bits of the last character are zero, so one token has one spelling.
    if b64url_encode(raw) != part:
        raise ValueError("non-canonical base64url")
    return raw


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_VALUE = {char: value for value, char in enumerate(_ALPHABET)}
_SPARE_BITS = {2: 0b1111, 3: 0b11}  # of the last character, by the part's length modulo 4
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def _decode_part(part: str) -> bytes:
    """:func:`b64url_decode` for a part whose alphabet is already checked (by the compact form's regex).

    Canonical is read off the last character's spare bits instead of by encoding again
    (about 1 µs a part less).
    """
    tail = len(part) % 4
    if tail == 1:
        raise ValueError("impossible base64url length")
    if tail and _VALUE[part[-1]] & _SPARE_BITS[tail]:
        raise ValueError("non-canonical base64url")
    return binascii.a2b_base64(part.encode("ascii").translate(_TO_STANDARD) + b"=="[: -len(part) % 4])


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member")
    return members


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# One decoder, built once: json.loads with any keyword argument builds a decoder and its scanner
# on every call (3.75 against 2.61 µs for a token's claims, measured by benchmarks/auth_bench.py).
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_members, parse_constant=_no_constant)


def _depth_within(value: Any, budget: int) -> bool:
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return True
    if budget == 0:
        return False
    return all(_depth_within(child, budget - 1) for child in children)


def json_object(raw: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """``raw`` as a JSON object: UTF-8, no duplicate members, bounded nesting; ``ValueError`` otherwise."""
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except RecursionError as exc:  # deeper than the interpreter's stack: deeper than any bound
        raise ValueError("nested too deeply") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    # Every level of nesting opens with "{" or "[": when there are few of them (as in every real
    # token), the walk is not needed. Brackets inside strings only make the count larger.
    if raw.count(b"{") + raw.count(b"[") > max_depth and not _depth_within(value, max_depth):
        raise ValueError("nested too deeply")
    # A \ud800 escape decodes to a lone surrogate, a str no response can encode: refused here,
    # where it came in. Only a payload with an escape can hold one, so the walk is rare.
    if b"\\u" in raw and not _encodable(value):
        raise ValueError("a string with a lone surrogate")
    return value


def _encodable(value: Any) -> bool:
    if isinstance(value, str):
        return value.isascii() or _utf8(value)
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Headers by their encoded text. One issuer's tokens share a handful of headers ({"alg", "kid",
# "typ"}), so decoding each once saves about 1.5 µs of a verify (of 35 µs for RS256, where the
# 2x target has 2 µs to spare; benchmarks/auth_bench.py). Bounded: cleared when full, so forged
# headers cannot grow it. The dicts are shared between tokens and never changed.
_HEADERS: dict[str, dict[str, Any]] = {}
_HEADERS_MAX = 256


def _header(part: str) -> dict[str, Any]:
    header = _HEADERS.get(part)
    if header is None:
        header = json_object(_decode_part(part))
        if len(_HEADERS) >= _HEADERS_MAX:
            _HEADERS.clear()
        _HEADERS[part] = header
    return header


def parse_compact(token: object, max_size: int = DEFAULT_MAX_SIZE) -> CompactJWS:
    """Take a compact JWS apart, or raise :class:`InvalidToken` (``too_large`` or ``malformed``).

    Example:
        >>> parse_compact("not.a.token").header
        Traceback (most recent call last):
        ...
        backendkit.auth._core.errors.InvalidToken: The access token is invalid or has expired.
    """
    if not isinstance(token, str):
        raise InvalidToken("malformed")
    if len(token) > max_size:
        raise InvalidToken("too_large")
    # Three parts of the base64url alphabet: a JWE (five parts), the JSON serialization
    # or padding all stop here.
    if _COMPACT.fullmatch(token) is None:
        raise InvalidToken("malformed")
    header_part, payload_part, signature_part = token.split(".")
    try:
        header = _header(header_part)
        payload = json_object(_decode_part(payload_part))
        signature = _decode_part(signature_part)
    except (ValueError, binascii.Error) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidToken("malformed") from exc
    signing_input = token[: len(header_part) + 1 + len(payload_part)].encode("ascii")
    return CompactJWS(header, payload, signing_input, signature)


__all__ = [
    "DEFAULT_MAX_SIZE",
    "MAX_DEPTH",
    "CompactJWS",
    "b64url_decode",
    "b64url_encode",
    "json_object",
    "parse_compact",
]
