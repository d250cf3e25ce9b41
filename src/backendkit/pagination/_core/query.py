"""The query string as ordered (name, value) pairs, parsed the same way whatever the framework.

Frameworks differ in how they group repeated names; links are rebuilt from these
pairs, so every adapter parses the raw query string here instead.
"""

from __future__ import annotations

from backendkit.pagination._core.request import QueryPairs

MAX_QUERY_BYTES = 16_384  # past this the query string is not read (pagination needs a few hundred bytes)
_HEX = frozenset(b"0123456789abcdefABCDEF")


def unquote_plus(text: bytes) -> str:
    """Decode ``+`` as space and ``%XX`` escapes, then UTF-8 (undecodable bytes become U+FFFD)."""
    text = text.replace(b"+", b" ")
    if b"%" not in text:
        return text.decode("utf-8", "replace")
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        byte = text[i]
        if byte == 0x25 and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
            continue
        out.append(byte)
        i += 1
    return out.decode("utf-8", "replace")


def parse_query(raw: bytes) -> QueryPairs:
    """``a=1&b=&c`` → ``(("a", "1"), ("b", ""), ("c", ""))``; blank values kept, empty segments dropped."""
    if len(raw) > MAX_QUERY_BYTES:
        raw = raw[:MAX_QUERY_BYTES]
    pairs: list[tuple[str, str]] = []
    for segment in raw.split(b"&"):
        if not segment:
            continue
        name, _, value = segment.partition(b"=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return tuple(pairs)
