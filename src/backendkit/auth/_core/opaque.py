"""Opaque credentials a service hands out itself (API keys, refresh tokens): their format, checked before any store.

Pure: the randomness is passed in. A credential reads ``<prefix><id>_<secret><check>``:

- ``prefix`` names what it is and where it is valid (``bk_live_``, ``bkr_``), so a person
  and a secret scanner can recognise one (lower-case words joined and ended by ``_``);
- ``id`` is public, base62: the store looks the credential up by it;
- ``secret`` is 43 base62 characters, 256 bits;
- ``check`` is the CRC-32 of everything before it, 6 base62 characters: a mistyped or
  truncated credential is refused here, without asking a store (GitHub's tokens do the same).

Only :func:`digest` of a credential is ever stored: SHA-256, or HMAC-SHA-256 under a
server-side pepper. A 256-bit random secret needs no slow hash (a password does:
it is guessable); a fast one keeps every request fast.

Example:
    >>> fmt = OpaqueFormat("bk_test_", id_chars=12)
    >>> token = fmt.compose(bytes(range(9)), bytes(range(32)))
    >>> fmt.parse(token).id == token[8:20], fmt.parse(token[:-1] + "x")
    (True, 'bad_checksum')
"""

from __future__ import annotations

import hashlib
import hmac
import re
import zlib
from dataclasses import dataclass
from typing import NamedTuple

from backendkit.errors import ConfigurationError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SECRET_CHARS = 43  # 62**43 > 2**256
CHECK_CHARS = 6  # 62**6 > 2**32
SECRET_BYTES = 32
_PREFIX = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*_")
_DECODE = {ch: i for i, ch in enumerate(ALPHABET)}


def b62(number: int, width: int) -> str:
    """``number`` in base62, ``width`` characters, zero-padded (``ValueError`` when it does not fit)."""
    text = ""
    for _ in range(width):
        number, digit = divmod(number, 62)
        text = ALPHABET[digit] + text
    if number:
        raise ValueError("the number does not fit in the width")
    return text


_PAIRS = tuple(a + b for a in ALPHABET for b in ALPHABET)  # base62 two digits at a time: 3 lookups, not 6 divmods


def check_digits(text: str) -> str:
    """The 6 base62 characters of the CRC-32 of ``text`` (ASCII)."""
    high, low = divmod(zlib.crc32(text.encode("ascii")), 3844)
    top, middle = divmod(high, 3844)
    return _PAIRS[top] + _PAIRS[middle] + _PAIRS[low]


def digest(credential: str, pepper: bytes | None = None) -> str:
    """The hex digest stored for ``credential`` (the part before its check digits, or all of it).

    SHA-256 without a pepper; HMAC-SHA-256 keyed with ``pepper`` with one, so a
    stolen table is useless without the server's secret too.
    """
    data = credential.encode("ascii", "replace")
    if pepper is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(pepper, data, hashlib.sha256).hexdigest()


def pepper_bytes(pepper: str | bytes | None) -> bytes | None:
    """A pepper as bytes (a ``ConfigurationError`` under 16 bytes), or ``None``."""
    if pepper is None:
        return None
    value = pepper.encode("utf-8") if isinstance(pepper, str) else pepper
    if not isinstance(value, bytes) or len(value) < 16:
        raise ConfigurationError("the pepper is a secret of at least 16 bytes")
    return value


def same_digest(stored: str, presented: str) -> bool:
    """Whether two digests are equal, in time independent of where they differ."""
    return hmac.compare_digest(stored.encode("ascii", "replace"), presented.encode("ascii", "replace"))


class Parsed(NamedTuple):
    """A credential whose shape and check digits are right: its public ``id``, what is digested (``body``), the rest."""

    id: str
    body: str
    check: str


@dataclass(frozen=True)
class OpaqueFormat:
    """One kind of credential: its prefix and the length of its public id.

    Args:
        prefix: Lower-case words joined and ended by ``_`` (``bk_live_``).
        id_chars: Base62 characters of the public id (8 to 32).
    """

    prefix: str
    id_chars: int = 12

    def __post_init__(self) -> None:
        if not isinstance(self.prefix, str) or not _PREFIX.fullmatch(self.prefix) or len(self.prefix) > 32:
            raise ValueError(f"a prefix is lower-case words joined and ended by '_' (bk_live_), not {self.prefix!r}")
        if isinstance(self.id_chars, bool) or not isinstance(self.id_chars, int) or not 8 <= self.id_chars <= 32:
            raise ValueError(f"id_chars is 8 to 32, not {self.id_chars!r}")
        shape = rf"{re.escape(self.prefix)}([0-9A-Za-z]{{{self.id_chars}}})_[0-9A-Za-z]{{{SECRET_CHARS + CHECK_CHARS}}}"
        object.__setattr__(self, "_shape", re.compile(shape))

    @property
    def length(self) -> int:
        """The length of every credential of this format."""
        return len(self.prefix) + self.id_chars + 1 + SECRET_CHARS + CHECK_CHARS

    def new_id(self, random: bytes) -> str:
        """A public id from random bytes (as many as it takes: 6 bits per id character, rounded up)."""
        return b62(int.from_bytes(random, "big") % 62**self.id_chars, self.id_chars)

    def compose(self, id_random: bytes | str, secret_random: bytes) -> str:
        """A credential: the id (a string, or random bytes to make one) and 32 random bytes of secret."""
        if len(secret_random) != SECRET_BYTES:
            raise ValueError("the secret is 32 random bytes")
        ident = id_random if isinstance(id_random, str) else self.new_id(id_random)
        if len(ident) != self.id_chars or any(ch not in _DECODE for ch in ident):
            raise ValueError(f"an id is {self.id_chars} base62 characters")
        body = f"{self.prefix}{ident}_{b62(int.from_bytes(secret_random, 'big'), SECRET_CHARS)}"
        return body + check_digits(body)

    def recognises(self, value: str) -> bool:
        """Whether ``value`` starts with this format's prefix (it may still be malformed)."""
        return value.startswith(self.prefix)

    def parse(self, value: object) -> Parsed | str:
        """The parsed credential, or why not: ``"malformed"`` or ``"bad_checksum"``."""
        if not isinstance(value, str) or len(value) != self.length:
            return "malformed"
        match = self._shape.fullmatch(value)  # type: ignore[attr-defined]
        if match is None:
            return "malformed"
        body = value[:-CHECK_CHARS]
        if check_digits(body) != value[-CHECK_CHARS:]:  # (a checksum, public: no constant time needed)
            return "bad_checksum"
        return Parsed(match.group(1), body, value[-CHECK_CHARS:])


__all__ = [
    "ALPHABET",
    "SECRET_BYTES",
    "OpaqueFormat",
    "Parsed",
    "b62",
    "check_digits",
    "digest",
    "pepper_bytes",
    "same_digest",
]
