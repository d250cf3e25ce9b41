"""The ``Authorization`` header, read as RFC 6750 §2.1 and RFC 9110 §11 define it.

Pure. No header, or a credential of another scheme (``Basic ...``), is "no bearer
credentials" (401 with a bare challenge). Two headers, a ``Bearer`` with no token,
or a token outside the token68 alphabet is a malformed request (400
``invalid_request``). The scheme name is compared without case.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backendkit.auth._core.errors import DEFAULT_REALM, InvalidRequest

_CREDENTIALS = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?", re.DOTALL)
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def bearer_token(values: str | Sequence[str] | None, realm: str = DEFAULT_REALM) -> str | None:
    """The bearer token in the request's ``Authorization`` header line(s), or ``None`` if there is none.

    Example:
        >>> bearer_token("bearer abc.def.ghi")
        'abc.def.ghi'
        >>> bearer_token("Basic dXNlcjpwYXNz") is None
        True
    """
    if values is None:
        return None
    if not isinstance(values, str):
        if len(values) > 1:
            raise InvalidRequest(realm)
        if not values:
            return None
        values = values[0]
    value = values.strip(" \t")
    if not value:
        return None
    match = _CREDENTIALS.fullmatch(value)
    if match is None:
        raise InvalidRequest(realm)
    scheme, token = match.groups()
    if scheme.lower() != "bearer":
        return None
    if token is None or _TOKEN68.fullmatch(token) is None:
        raise InvalidRequest(realm)
    return token


API_KEY_MALFORMED = "The API key header is malformed."
TWO_CREDENTIALS = "Send one credential: an Authorization header or an API key header, not both."

_KEY = re.compile(r"[\x21-\x2b\x2d-\x7e]+")  # visible ASCII but the comma


def api_key_value(values: str | Sequence[str] | None, realm: str = DEFAULT_REALM) -> str | None:
    """The API key in the request's ``X-API-Key`` header line(s) (or the one named instead), or ``None``.

    One line of visible ASCII, white space around it dropped; two lines or anything
    else is a malformed request (400 ``invalid_request``). An empty line is no key.
    A comma is two lines: servers and gateways join repeated header lines with one
    (RFC 9110 §5.3), and no key has one, so the answer is the same however the
    repeat reached the application.

    Example:
        >>> api_key_value([" bk_live_abc "]), api_key_value([]) is None
        ('bk_live_abc', True)
    """
    if values is None:
        return None
    if not isinstance(values, str):
        if len(values) > 1:
            raise InvalidRequest(realm, message=API_KEY_MALFORMED)
        if not values:
            return None
        values = values[0]
    value = values.strip(" \t")
    if not value:
        return None
    if _KEY.fullmatch(value) is None:
        raise InvalidRequest(realm, message=API_KEY_MALFORMED)
    return value


__all__ = ["API_KEY_MALFORMED", "TWO_CREDENTIALS", "api_key_value", "bearer_token"]
