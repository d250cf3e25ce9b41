"""Opaque, signed cursors: where a keyset page starts, bound to its ordering and filters.

A cursor is ``base64url(payload) "." base64url(tag)`` where the payload is compact
JSON ``[version, backward, [values...], ordering_hash, filters_hash, expires]`` and
the tag is the first 16 bytes of HMAC-SHA256 over a domain label, the namespace and
the payload. The first secret signs; every listed secret verifies (key rotation).
Nothing in a token is parsed before its tag is checked, and the length is checked
before anything else.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backendkit.errors import ConfigurationError
from backendkit.pagination._core.errors import invalid_cursor
from backendkit.pagination._core.values import dump_value, load_value

VERSION = 1
TAG_BYTES = 16
MIN_SECRET_BYTES = 16
_LABEL = b"backendkit.cursor.v1\x00"
_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# UTF-8, not \u escapes: a non-ASCII character costs 2 to 4 bytes of payload instead of 6 to 12.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a keyset page starts: strictly after ``values`` (or strictly before, going ``backward``)."""

    values: tuple[Any, ...]
    backward: bool = False


class _Key:
    """HMAC-SHA256 under one secret, with the keyed inner and outer hash states computed once.

    The same function as ``hmac.digest(secret, message, "sha256")`` (RFC 2104), without
    re-deriving the padded key for every cursor: that derivation was a third of a check.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: bytes) -> None:
        block = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
        block = block.ljust(64, b"\x00")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def tag(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:TAG_BYTES]


@functools.lru_cache(maxsize=1024)  # orderings and filter sets repeat; hashing them is a third of a check
def fingerprint(text: str) -> str:
    """A short stable digest of ``text`` (an ordering or the filters), to bind a cursor to it."""
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("utf-8")).digest()[:6]).decode("ascii")


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_DECODER = json.JSONDecoder()


def _b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # The caller has checked the alphabet; what is left to go wrong is the length (binascii.Error).
    raw = text.encode("ascii").translate(_FROM_URLSAFE)
    return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))


class CursorCodec:
    """Signs and verifies cursors.

    Args:
        secrets: One or more secrets (str or bytes, at least 16 bytes each). The
            first signs new cursors; all of them verify, so a secret can be rotated
            by putting the new one first and dropping the old one later.
        max_age: Seconds a cursor stays valid, or ``None`` for no expiry. Without an
            expiry, equal positions give equal cursors.
        max_length: Longer tokens are refused before any work is done on them, and
            :meth:`encode` refuses to make one (a ``ConfigurationError``): a page
            whose last row's sort values do not fit would hand out a cursor that
            fails. 2048 characters hold about 1,500 bytes of sort values.

    Example:
        >>> codec = CursorCodec(["a-secret-of-at-least-16-bytes"])
        >>> token = codec.encode(Position((3, 17)), ordering="-priority,id", filters="", now=0.0)
        >>> codec.decode(token, ordering="-priority,id", filters="", now=0.0)
        Position(values=(3, 17), backward=False)
    """

    def __init__(
        self,
        secrets: Sequence[str | bytes],
        *,
        max_age: float | None = None,
        max_length: int = 2048,
        namespace: str = "",
    ) -> None:
        if isinstance(secrets, (str, bytes)):
            secrets = [secrets]
        keys = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in secrets]
        if not keys:
            raise ConfigurationError("cursor pagination needs a secret to sign cursors with")
        if any(len(k) < MIN_SECRET_BYTES for k in keys):
            raise ConfigurationError(f"every cursor secret needs at least {MIN_SECRET_BYTES} bytes")
        if max_age is not None and max_age <= 0:
            raise ConfigurationError("max_age must be a positive number of seconds or None")
        self._keys = tuple(keys)
        self._signers = tuple(_Key(key) for key in keys)
        self.max_age = max_age
        self.max_length = max_length
        self._label = _LABEL + namespace.encode("utf-8") + b"\x00"

    def with_namespace(self, namespace: str) -> CursorCodec:
        """The same secrets, signing for ``namespace``: a cursor of one endpoint is foreign to another."""
        return CursorCodec(self._keys, max_age=self.max_age, max_length=self.max_length, namespace=namespace)

    def encode(self, position: Position, *, ordering: str, filters: str, now: float) -> str:
        """The token for ``position`` under this ordering and these filters (both as canonical text)."""
        expires = 0 if self.max_age is None else int(now + self.max_age) + 1
        body = [
            VERSION,
            1 if position.backward else 0,
            [dump_value(v) for v in position.values],
            fingerprint(ordering),
            fingerprint(filters),
            expires,
        ]
        try:
            payload = _ENCODER.encode(body).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, which UTF-8 cannot carry: escaped, as JSON allows
            payload = _ASCII_ENCODER.encode(body).encode("ascii")
        tag = self._signers[0].tag(self._label + payload)
        token = f"{_b64encode(payload)}.{_b64encode(tag)}"
        if len(token) > self.max_length:
            # decode() would refuse it: the client could never follow this cursor.
            raise ConfigurationError(
                f"a cursor for this position takes {len(token)} characters, more than max_length "
                f"({self.max_length}): the values of the sort key are too long for a cursor; raise max_length "
                "(Pagination(cursor_max_length=...)) or sort on shorter fields"
            )
        return token

    def decode(self, token: str, *, ordering: str, filters: str, now: float) -> Position:
        """The position in ``token``; :class:`~backendkit.pagination.InvalidCursor` unless it is genuine and fits."""
        if len(token) > self.max_length:
            raise invalid_cursor("too_long")
        # Python's base64 decoder skips characters outside the alphabet; a cursor may not contain any.
        if not _SHAPE.fullmatch(token):
            raise invalid_cursor("malformed")
        head, _, tail = token.partition(".")
        try:
            payload = _b64decode(head)
            tag = _b64decode(tail)
        except (binascii.Error, ValueError):
            raise invalid_cursor("malformed") from None
        if len(tag) != TAG_BYTES:
            raise invalid_cursor("malformed")
        message = self._label + payload
        for signer in self._signers:
            if hmac.compare_digest(signer.tag(message), tag):
                break
        else:
            raise invalid_cursor("signature")
        return self._read(payload, ordering=ordering, filters=filters, now=now)

    def _read(self, payload: bytes, *, ordering: str, filters: str, now: float) -> Position:
        try:
            body = _DECODER.decode(payload.decode("utf-8"))
        except ValueError:
            raise invalid_cursor("malformed") from None
        if not isinstance(body, list) or len(body) != 6 or body[0] != VERSION:
            raise invalid_cursor("version")
        _, backward, values, ordering_hash, filters_hash, expires = body
        if backward not in (0, 1) or not isinstance(values, list) or not isinstance(expires, int):
            raise invalid_cursor("malformed")
        if expires and now >= expires:
            raise invalid_cursor("expired")
        if ordering_hash != fingerprint(ordering):
            raise invalid_cursor("sort_mismatch")
        if filters_hash != fingerprint(filters):
            raise invalid_cursor("filter_mismatch")
        try:
            loaded = tuple([load_value(v) for v in values])
        except ValueError:
            raise invalid_cursor("malformed") from None
        return Position(loaded, backward=bool(backward))
