"""The refresh grant of a token endpoint, read as RFC 6749 §6 and answered as §5.1 and §5.2 say. Pure.

A request is a form (``application/x-www-form-urlencoded``) with
``grant_type=refresh_token`` and one ``refresh_token``. What is wrong with it is
an :class:`OAuthError`: a 400 whose body is ``{"error": ..., "error_description": ...}``
(RFC 6749's shape, which OAuth client libraries read, not backendkit's envelope).
Token responses and errors alike carry ``Cache-Control: no-store`` and ``Pragma: no-cache``.

Example:
    >>> read_refresh_grant({"grant_type": ["refresh_token"], "refresh_token": ["bkr_x"]}, FORM)
    'bkr_x'
    >>> read_refresh_grant({"grant_type": ["password"]}, FORM).error
    'unsupported_grant_type'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORM = "application/x-www-form-urlencoded"
HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
)
"""The headers of every answer of the token endpoint (RFC 6749 §5.1): never cached."""

ERRORS = ("invalid_request", "invalid_grant", "unsupported_grant_type")

_DESCRIPTIONS = {
    "invalid_request": "The request is not a refresh grant: a form with one grant_type and one refresh_token.",
    "invalid_grant": "The refresh token is invalid, expired or revoked.",
    "unsupported_grant_type": "This endpoint takes grant_type=refresh_token only.",
}


@dataclass(frozen=True)
class OAuthError:
    """An RFC 6749 §5.2 error: ``error``, a fixed description, status 400."""

    error: str

    status = 400

    def body(self) -> bytes:
        """The JSON body."""
        return json.dumps({"error": self.error, "error_description": _DESCRIPTIONS[self.error]}).encode()


def _one(form: Mapping[str, Sequence[str]], name: str) -> str | OAuthError | None:
    values = form.get(name) or []
    if len(values) > 1:  # RFC 6749 §3.2: parameters must not be repeated
        return OAuthError("invalid_request")
    return values[0] if values and values[0] != "" else None


MAX_FIELDS = 16
"""Fields a refresh grant's form may have at most (it needs two or three): more is an ``invalid_request``."""


_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")


def _decoded(field: bytes) -> str:
    """One name or value: ``+`` is a space, ``%XX`` a byte, the bytes UTF-8 (an undecodable one replaced)."""
    return _ESCAPE.sub(lambda escape: bytes([int(escape.group(1), 16)]), field.replace(b"+", b" ")).decode(
        "utf-8", "replace"
    )


def parse_form(body: bytes) -> dict[str, list[str]] | OAuthError:
    """An ``application/x-www-form-urlencoded`` body, each name with its values, or ``invalid_request``.

    One parser for every framework, so that the same bytes get the same answer
    everywhere (their own form parsers differ on what they drop or refuse). A form
    body is ASCII (anything else is percent-encoded, UTF-8); ``&`` separates fields,
    of which there may be :data:`MAX_FIELDS` at most; an empty one is skipped.

    Example:
        >>> parse_form(b"grant_type=refresh_token&scope=a+b&scope=")
        {'grant_type': ['refresh_token'], 'scope': ['a b', '']}
        >>> parse_form("é".encode()).error
        'invalid_request'
    """
    if not body.isascii():
        return OAuthError("invalid_request")
    fields = body.split(b"&")
    if len(fields) > MAX_FIELDS:
        return OAuthError("invalid_request")
    form: dict[str, list[str]] = {}
    for field in fields:
        if field:
            name, _, value = field.partition(b"=")
            form.setdefault(_decoded(name), []).append(_decoded(value))
    return form


def read_refresh_grant(form: Mapping[str, Sequence[str]] | bytes, content_type: str | None) -> str | OAuthError:
    """The refresh token of a refresh grant, or the error to answer.

    Args:
        form: The parsed form, each name with its values; or the request's body, parsed
            here with :func:`parse_form` when it is declared a form (what the adapters pass).
        content_type: The request's ``Content-Type`` (its parameters are ignored).
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != FORM:
        return OAuthError("invalid_request")
    if isinstance(form, bytes):
        parsed = parse_form(form)
        if isinstance(parsed, OAuthError):
            return parsed
        form = parsed
    grant_type = _one(form, "grant_type")
    if isinstance(grant_type, OAuthError):
        return grant_type
    if grant_type is None:
        return OAuthError("invalid_request")
    if grant_type != "refresh_token":
        return OAuthError("unsupported_grant_type")
    token = _one(form, "refresh_token")
    if isinstance(token, OAuthError) or token is None:
        return OAuthError("invalid_request")
    scope = _one(form, "scope")
    if isinstance(scope, OAuthError):
        return scope
    # A scope sent is not used: the login's scope is granted again (RFC 6749 §6 lets a refresh narrow it;
    # backendkit does not, and says which scope it granted in the answer's ``scope``).
    return token


def token_body(response: Mapping[str, Any]) -> bytes:
    """The JSON body of a §5.1 token response."""
    return json.dumps(dict(response), separators=(",", ":")).encode()


__all__ = ["ERRORS", "FORM", "HEADERS", "MAX_FIELDS", "OAuthError", "parse_form", "read_refresh_grant", "token_body"]
