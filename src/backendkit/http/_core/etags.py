"""Entity tags (RFC 9110 §8.8.3): the value, its two comparisons, and the list a precondition carries.

An entity tag is an opaque quoted string, weak when prefixed ``W/`` (case-sensitive).
Strong comparison (``If-Match``) needs both tags strong and equal; weak comparison
(``If-None-Match``) only equal opaque strings. A list header may hold commas inside a
tag, so lists are scanned, not split.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Final, Literal

_ETAGC = re.compile(r"[\x21\x23-\x7e\x80-\xff]*")
_OWS = " \t"

ANY: Final = "*"
"""The ``*`` of ``If-Match: *`` / ``If-None-Match: *``: any current representation."""

Tags = tuple["ETag", ...] | Literal["*"]
"""A parsed ``If-Match`` / ``If-None-Match``: the listed tags, or :data:`ANY`."""


@dataclass(frozen=True, slots=True)
class ETag:
    """One entity tag: its opaque string (without quotes) and whether it is weak.

    Example:
        >>> str(ETag("v7")), str(ETag("v7", weak=True))
        ('"v7"', 'W/"v7"')
        >>> ETag("v7").matches_strongly(ETag("v7", weak=True)), ETag("v7").matches_weakly(ETag("v7", weak=True))
        (False, True)
    """

    opaque: str
    weak: bool = False

    def __post_init__(self) -> None:
        if _ETAGC.fullmatch(self.opaque) is None:
            raise ValueError(f"an entity tag holds no quote, space or control character: {self.opaque!r}")

    def __str__(self) -> str:
        return f'W/"{self.opaque}"' if self.weak else f'"{self.opaque}"'

    def matches_strongly(self, other: ETag) -> bool:
        """RFC 9110 §8.8.3.2 strong comparison: both strong, same opaque string."""
        return not self.weak and not other.weak and self.opaque == other.opaque

    def matches_weakly(self, other: ETag) -> bool:
        """Weak comparison: the same opaque string, either tag weak or strong."""
        return self.opaque == other.opaque

    @classmethod
    def of(cls, body: bytes) -> ETag:
        """A strong tag from a representation's bytes: 128 bits of SHA-256, base64url (22 characters)."""
        digest = hashlib.sha256(body).digest()[:16]
        return cls(base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))

    @classmethod
    def for_version(cls, version: int | str) -> ETag:
        """A strong tag naming a version (a version column, say): ``"v<version>"``; see :func:`version_of`."""
        return cls(f"v{version}")


def version_of(tags: Tags | None) -> str | None:
    """The version a single strong ``"v<version>"`` tag names (what :meth:`ETag.for_version` made), else None.

    ``If-Match: "v3"`` gives ``"3"``; ``*``, a weak tag, a list of several tags or a tag of
    another shape give None: the caller then compares tags itself (or answers 412).
    """
    if tags is None or tags == ANY or len(tags) != 1:
        return None
    (tag,) = tags
    if tag.weak or len(tag.opaque) < 2 or tag.opaque[0] != "v":
        return None
    return tag.opaque[1:]


def parse_tags(value: str) -> Tags | None:
    """``If-Match`` / ``If-None-Match``: ``*`` or a list of entity tags, or None if malformed.

    Empty list elements are skipped (RFC 9110 §5.6.1); anything else out of the grammar
    (a bare word, ``w/``, an unterminated quote, a tag with no comma after it) is None.
    The scan is linear in the header's length.

    Example:
        >>> parse_tags('W/"a", "b,c"')
        (ETag(opaque='a', weak=True), ETag(opaque='b,c', weak=False))
        >>> parse_tags("*"), parse_tags("abc")
        ('*', None)
    """
    text = value.strip(_OWS)
    if text == ANY:
        return ANY
    tags: list[ETag] = []
    i, n = 0, len(text)
    while True:
        while i < n and (text[i] == "," or text[i] in _OWS):
            i += 1
        if i >= n:
            break
        weak = text.startswith("W/", i)
        if weak:
            i += 2
        if i >= n or text[i] != '"':
            return None
        end = text.find('"', i + 1)
        if end < 0:
            return None
        opaque = text[i + 1 : end]
        if _ETAGC.fullmatch(opaque) is None:
            return None
        tags.append(ETag(opaque, weak))
        i = end + 1
        while i < n and text[i] in _OWS:
            i += 1
        if i < n and text[i] != ",":
            return None
    return tuple(tags) if tags else None


def format_tags(tags: Tags) -> str:
    """The header value of a parsed list (``*`` or the tags joined by ``", "``)."""
    return ANY if tags == ANY else ", ".join(str(tag) for tag in tags)
