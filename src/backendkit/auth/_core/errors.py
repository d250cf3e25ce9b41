"""The errors of authentication and authorisation, and the RFC 6750 challenges they carry.

::

    APIError
    ├── BadRequest
    │   └── InvalidRequest       400  the Authorization header is malformed
    ├── Unauthorized
    │   ├── CredentialsRequired  401  no bearer token was sent
    │   └── InvalidToken         401  the token failed verification (``reason`` says why)
    └── Forbidden
        ├── InsufficientScope    403  the token lacks a scope the route needs
        └── PermissionDenied     403  the principal lacks a role, a permission or a predicate

Every one carries its ``WWW-Authenticate`` challenge in ``headers``, so each
framework's error handling sends it with the envelope. The client never sees why
a token failed: the reason is for the logs (a verifier that says "expired" to one
forger and "bad signature" to another is an oracle).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from backendkit.errors import BadRequest, Forbidden, Unauthorized

DEFAULT_REALM = "api"

REASONS = frozenset(
    {
        "malformed",  # not a compact JWS of JSON objects
        "too_large",  # longer than the verifier accepts, refused before decoding
        "unsupported_header",  # crit, b64, zip or enc: nothing a bare JWS verifier may skip
        "unsupported_alg",  # none, or an alg no configured key is bound to
        "unknown_kid",  # no configured key has this kid (or none was named and several could serve)
        "alg_mismatch",  # the kid's key is bound to another alg
        "bad_signature",
        "expired",
        "not_yet_valid",  # nbf in the future
        "issued_in_future",  # iat in the future
        "wrong_issuer",
        "wrong_audience",
        "wrong_type",  # the typ header is not the one required
        "missing_claim",
        "bad_claim",  # a claim of the wrong type (exp as a string, sub as a number...)
        "revoked",
        "keys_unavailable",  # the JWKS could not be fetched and no key is cached
    }
)
"""The machine reasons an :class:`InvalidToken` from a token (a JWT) may carry."""

KEY_REASONS = frozenset(
    {
        "malformed",  # not the shape of a key of an accepted prefix
        "bad_checksum",  # the check digits do not match: mistyped or truncated, refused before any store
        "unknown_key",  # no key has this id
        "bad_secret",  # the id is known, the secret is not its
        "expired",
        "revoked",
    }
)
"""The machine reasons an :class:`InvalidToken` from an API key (``backendkit.apikeys``) may carry."""


def quote(value: str) -> str:
    """``value`` as an RFC 9110 quoted-string (backslash before ``"`` and ``\\``; controls dropped)."""
    cleaned = "".join(ch for ch in value if ch == "\t" or " " <= ch <= "~")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(realm: str, **params: str) -> str:
    """A ``Bearer`` challenge: ``Bearer realm="api", error="invalid_token"``."""
    return _challenge(realm, tuple(params.items()))


@functools.lru_cache(maxsize=256)
def _challenge(realm: str, params: tuple[tuple[str, str], ...]) -> str:
    # Cached: every refused token raises one, and quoting is character by character (5 of the
    # 6 µs an InvalidToken took to make, measured by benchmarks/auth_bench.py).
    parts = [f"realm={quote(realm)}"] + [f"{name}={quote(value)}" for name, value in params]
    return "Bearer " + ", ".join(parts)


class CredentialsRequired(Unauthorized):
    """401: the request carries no bearer token. The challenge has no error code (RFC 6750 §3.1)."""

    code = "UNAUTHORIZED"
    message = "Authentication is required."

    def __init__(self, realm: str = DEFAULT_REALM, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.headers["WWW-Authenticate"] = challenge(realm)


class InvalidRequest(BadRequest):
    """400: the ``Authorization`` header is not one well-formed ``Bearer`` credential."""

    code = "INVALID_REQUEST"
    message = "The Authorization header is malformed."

    def __init__(self, realm: str = DEFAULT_REALM, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.headers["WWW-Authenticate"] = challenge(realm, error="invalid_request")


class InvalidToken(Unauthorized):
    """401: the token is not one this service accepts; ``reason`` (one of :data:`REASONS`) says why.

    The response is the same whatever the reason: a fixed message and
    ``error="invalid_token"``. Log ``reason``; never send it.

    Example:
        >>> err = InvalidToken("expired")
        >>> (err.status, err.code, err.reason)
        (401, 'INVALID_TOKEN', 'expired')
    """

    code = "INVALID_TOKEN"
    message = "The access token is invalid or has expired."

    def __init__(self, reason: str, realm: str = DEFAULT_REALM, **kwargs: Any) -> None:
        if reason not in REASONS and reason not in KEY_REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(**kwargs)
        self.reason = reason
        self.headers["WWW-Authenticate"] = challenge(
            realm, error="invalid_token", error_description="The access token is invalid or has expired."
        )

    def with_realm(self, realm: str) -> InvalidToken:
        """The same failure, challenging in ``realm`` (the verifier does not know the realm)."""
        return InvalidToken(self.reason, realm)

    def __repr__(self) -> str:
        return f"InvalidToken(reason={self.reason!r})"


GRANT_REASONS = frozenset({"malformed", "bad_checksum", "unknown", "expired", "revoked", "reused"})
"""Why a refresh token may be refused (:class:`InvalidGrant`): for the logs, never sent."""


class InvalidGrant(BadRequest):
    """400: a refresh token that is not live; ``reason`` (one of :data:`GRANT_REASONS`) says why.

    The token endpoint answers it as RFC 6749 §5.2 says, ``{"error": "invalid_grant"}``,
    and every other route as the envelope; the reason is logged, never sent.

    Example:
        >>> err = InvalidGrant("reused")
        >>> (err.status, err.code, err.reason)
        (400, 'INVALID_GRANT', 'reused')
    """

    code = "INVALID_GRANT"
    message = "The refresh token is invalid, expired or revoked."

    def __init__(self, reason: str, **kwargs: Any) -> None:
        if reason not in GRANT_REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(**kwargs)
        self.reason = reason
        self.headers["Cache-Control"] = "no-store"

    def __repr__(self) -> str:
        return f"InvalidGrant(reason={self.reason!r})"


class InsufficientScope(Forbidden):
    """403: the token lacks scopes the route needs; the challenge names them (RFC 6750 §3.1)."""

    code = "INSUFFICIENT_SCOPE"
    message = "The access token does not grant the scope this request needs."

    def __init__(self, scopes: Iterable[str], realm: str = DEFAULT_REALM, **kwargs: Any) -> None:
        self.scopes = tuple(scopes)
        super().__init__(details={"scopes": list(self.scopes)}, **kwargs)
        self.headers["WWW-Authenticate"] = challenge(realm, error="insufficient_scope", scope=" ".join(self.scopes))


class PermissionDenied(Forbidden):
    """403 ``FORBIDDEN``: a role, a permission or a predicate says no. No challenge: a new token would not help."""


__all__ = [
    "DEFAULT_REALM",
    "GRANT_REASONS",
    "KEY_REASONS",
    "REASONS",
    "CredentialsRequired",
    "InsufficientScope",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidToken",
    "PermissionDenied",
    "challenge",
]
