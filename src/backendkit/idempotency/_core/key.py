"""The ``Idempotency-Key`` header: the draft's quoted sf-string and Stripe's bare token, one key either way. Pure.

draft-ietf-httpapi-idempotency-key-header-07 makes the field an RFC 8941 Item whose
value is an sf-string, so a conforming client sends ``"8e03978e-40d5-43e8"`` with the
quotes; Stripe, and the clients written for it, send the key bare. Both are read, and
mean the same key. Either way the key is 1 to 255 characters of ``A-Z a-z 0-9`` and
``- _ . ~ : + / =`` (UUIDs, ULIDs, base64 and base64url all fit). Anything else is a
400: two header lines (or two keys joined with a comma), an empty key, parameters after
the string, an escape, a control character, a space, a non-ASCII character.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backendkit.idempotency._core.errors import IdempotencyKeyInvalid

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
_KEY = re.compile(r"[A-Za-z0-9\-_.~:+/=]{1,255}")
_OWS = " \t"


def parse_key(values: Sequence[str]) -> str | None:
    """The key in the header's ``values`` (one per field line), or ``None`` when there is no header.

    Raises:
        IdempotencyKeyInvalid: not exactly one well-formed key.
    """
    if not values:
        return None
    if len(values) != 1:
        raise IdempotencyKeyInvalid(details={"reason": "more than one Idempotency-Key field"})
    value = values[0].strip(_OWS)  # (RFC 8941 parsers discard surrounding spaces; HTTP strips tabs too)
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':  # the draft's sf-string
        value = value[1:-1]
    if _KEY.fullmatch(value) is None:
        raise IdempotencyKeyInvalid()
    return value


__all__ = ["HEADER", "MAX_LENGTH", "parse_key"]
