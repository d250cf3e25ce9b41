"""Signing tokens for first-party logins and for tests: HS, RS, ES (and PS, EdDSA on the PyJWT backend)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from backendkit.auth._backend import SignatureBackend
from backendkit.auth._compact import b64url_encode
from backendkit.auth._keys import HMACKey, PrivateKey, SigningKey
from backendkit.errors import ConfigurationError

DEFAULT_LIFETIME = 900.0
"""Seconds an issued token lives by default (15 minutes, as access tokens should)."""

_RESERVED = frozenset({"sub", "iat", "exp", "jti", "iss", "aud"})


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


class TokenIssuer:
    """Signs access tokens with one key; the key object is built once.

    Example:
        >>> issuer = TokenIssuer(HMACKey("a-32-byte-secret-for-this-example!"), audience="api")
        >>> issuer.issue("user-1", now=0).count(".")
        2
    """

    def __init__(
        self,
        key: SigningKey,
        *,
        issuer: str | None = None,
        audience: str | Iterable[str] | None = None,
        lifetime: float = DEFAULT_LIFETIME,
        typ: str = "JWT",
        backend: SignatureBackend | None = None,
    ) -> None:
        if not isinstance(key, (HMACKey, PrivateKey)):
            raise ConfigurationError("a token is signed with an HMACKey or a PrivateKey")
        if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
            raise ConfigurationError(f"lifetime is a positive number of seconds, not {lifetime!r}")
        if backend is None:
            from backendkit.auth.backends import default_backend

            backend = default_backend()
        self._sign = backend.signer(key)
        header: dict[str, str] = {"alg": key.alg, "typ": typ}
        if key.kid is not None:
            header["kid"] = key.kid
        self._header = b64url_encode(_json(header))
        self.issuer = issuer
        self.audience = audience if audience is None or isinstance(audience, str) else list(audience)
        self.lifetime = float(lifetime)

    def issue(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        lifetime: float | None = None,
        now: float | None = None,
        jti: str | None = None,
    ) -> str:
        """A signed token for ``subject`` with ``iat``, ``exp``, ``jti``, ``iss`` and ``aud`` set.

        ``claims`` adds others (``roles``, ``scope``...); it cannot override the six above.
        """
        extra = dict(claims or {})
        clash = _RESERVED & extra.keys()
        if clash:
            raise ValueError(f"set {sorted(clash)} through issue()'s own arguments")
        issued_at = int(time.time() if now is None else now)
        payload: dict[str, Any] = {"sub": subject, "iat": issued_at}
        payload["exp"] = issued_at + int(self.lifetime if lifetime is None else lifetime)
        payload["jti"] = jti if jti is not None else secrets.token_urlsafe(16)
        if self.issuer is not None:
            payload["iss"] = self.issuer
        if self.audience is not None:
            payload["aud"] = self.audience
        payload.update(extra)
        signing_input = f"{self._header}.{b64url_encode(_json(payload))}"
        return f"{signing_input}.{b64url_encode(self._sign(signing_input.encode('ascii')))}"


def issue(
    key: SigningKey,
    subject: str,
    *,
    issuer: str | None = None,
    audience: str | Iterable[str] | None = None,
    lifetime: float = DEFAULT_LIFETIME,
    claims: Mapping[str, Any] | None = None,
    now: float | None = None,
    jti: str | None = None,
    backend: SignatureBackend | None = None,
) -> str:
    """One signed token; see :class:`TokenIssuer`, which signs many with one key object.

    Example:
        >>> token = issue(HMACKey("a-32-byte-secret-for-this-example!"), "user-1", audience="api")
        >>> len(token.split("."))
        3
    """
    signer = TokenIssuer(key, issuer=issuer, audience=audience, lifetime=lifetime, backend=backend)
    return signer.issue(subject, claims=claims, now=now, jti=jti)


__all__ = ["DEFAULT_LIFETIME", "TokenIssuer", "issue"]
