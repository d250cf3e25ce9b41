"""What the store holds for a key: a lock while the first request runs, then its response. Pure.

Values are bytes, the same in every store:

- a lock: ``L``, the request's fingerprint (64 hex digits), the holder's token (32 hex digits);
- a record: ``R``, the fingerprint, the status (3 digits), the headers as a JSON list of
  pairs, a newline, and the body exactly as it was sent.

The fingerprint sits at the same offset in both, so a store (Redis's Lua script too)
can compare it without decoding anything else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

LOCK = b"L"
RECORD = b"R"
FINGERPRINT_LENGTH = 64
TOKEN_LENGTH = 32
_HEAD = 1 + FINGERPRINT_LENGTH

# Never stored, never replayed: hop-by-hop fields (RFC 9110, section 7.6.1), what the server
# writes for each response, and what backendkit adds per request (its id, the rate limits).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
PER_RESPONSE = frozenset(("content-length", "date", "server", "x-request-id", "idempotent-replayed"))
PER_REQUEST_PREFIXES = ("ratelimit", "x-ratelimit")


@dataclass(frozen=True)
class StoredResponse:
    """A response as it is replayed: status, headers (without the fields above) and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def lock_value(fingerprint: str, token: str) -> bytes:
    """The lock a first request holds while its handler runs."""
    return LOCK + fingerprint.encode("ascii") + token.encode("ascii")


def record_value(fingerprint: str, response: StoredResponse) -> bytes:
    """The record a finished request leaves for its retries."""
    headers = json.dumps([list(pair) for pair in response.headers], separators=(",", ":"), ensure_ascii=True)
    return (
        RECORD
        + fingerprint.encode("ascii")
        + b"%03d" % response.status
        + headers.encode("ascii")
        + b"\n"
        + response.body
    )


def fingerprint_of(value: bytes) -> str:
    """The fingerprint in a lock or a record.

    Raises:
        ValueError: ``value`` is neither (a ``UnicodeDecodeError`` is one).
    """
    if value[:1] not in (LOCK, RECORD) or len(value) < _HEAD:
        raise ValueError("not an idempotency lock or record")
    return value[1:_HEAD].decode("ascii")


def is_lock(value: bytes) -> bool:
    """Whether ``value`` is a lock (the first request is still running)."""
    return value[:1] == LOCK


def decode_record(value: bytes) -> StoredResponse:
    """The response in a record.

    Raises:
        ValueError: ``value`` is not a record this module wrote.
    """
    if value[:1] != RECORD or len(value) < _HEAD + 4:
        raise ValueError("not an idempotency record")
    status = int(value[_HEAD : _HEAD + 3])
    if not 100 <= status <= 599:
        raise ValueError("not an idempotency record")
    headers_end = value.index(b"\n", _HEAD + 3)
    pairs = json.loads(value[_HEAD + 3 : headers_end])
    if not (isinstance(pairs, list) and all(isinstance(p, list) and len(p) == 2 for p in pairs)):
        raise ValueError("not an idempotency record")
    headers = tuple((str(name), str(text)) for name, text in pairs)
    for name, text in headers:  # (what a response's headers can hold: a UnicodeEncodeError is a ValueError)
        name.encode("latin-1"), text.encode("latin-1")
    return StoredResponse(status, headers, value[headers_end + 1 :])


def kept_headers(
    headers: Iterable[tuple[str, str]], *, keep_set_cookie: bool = False, request_id_header: str = "x-request-id"
) -> tuple[tuple[str, str], ...]:
    """The response's headers that a replay repeats: not hop-by-hop, not per response or request."""
    dropped = HOP_BY_HOP | PER_RESPONSE | {request_id_header.lower()}
    kept = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in dropped or lowered.startswith(PER_REQUEST_PREFIXES):
            continue
        if lowered == "set-cookie" and not keep_set_cookie:
            continue
        kept.append((name, value))
    return tuple(kept)


__all__ = [
    "FINGERPRINT_LENGTH",
    "TOKEN_LENGTH",
    "StoredResponse",
    "decode_record",
    "fingerprint_of",
    "is_lock",
    "kept_headers",
    "lock_value",
    "record_value",
]
