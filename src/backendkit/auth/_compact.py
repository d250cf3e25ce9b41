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
from dataclasses import dataclass
from typing import Any

from backendkit.auth._errors import InvalidToken

DEFAULT_MAX_SIZE = 8192
"""The longest token accepted, in characters (8 KiB): longer ones are refused before any decoding."""

MAX_DEPTH = 16
"""The deepest nesting of objects and arrays a header or payload may have (Keycloak's claims need 3)."""

_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class CompactJWS:
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
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_members, parse_constant=_no_constant)
    except RecursionError as exc:  # deeper than the interpreter's stack: deeper than any bound
        raise ValueError("nested too deeply") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    if not _depth_within(value, max_depth):
        raise ValueError("nested too deeply")
    return value


def parse_compact(token: object, max_size: int = DEFAULT_MAX_SIZE) -> CompactJWS:
    """Take a compact JWS apart, or raise :class:`InvalidToken` (``too_large`` or ``malformed``).

    Example:
        >>> parse_compact("not.a.token").header
        Traceback (most recent call last):
        ...
        backendkit.auth._errors.InvalidToken: The access token is invalid or has expired.
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
        header = json_object(b64url_decode(header_part))
        payload = json_object(b64url_decode(payload_part))
        signature = b64url_decode(signature_part)
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
