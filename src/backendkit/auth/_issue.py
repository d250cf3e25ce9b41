"""Signing tokens for first-party logins and for tests: HS, RS, ES (and PS, EdDSA on the PyJWT backend)."""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from backendkit.auth._core.backend import SignatureBackend
from backendkit.auth._core.compact import b64url_encode
from backendkit.auth._core.keys import HMACKey, PrivateKey, SigningKey
from backendkit.auth._core.opaque import pepper_bytes
from backendkit.auth._core.principal import Principal
from backendkit.auth._core.refresh import AccessEntry, RefreshPolicy
from backendkit.auth._refresh import Rotator, TokenPair
from backendkit.auth._stores.memory import AsyncRevocations, Revocations
from backendkit.auth._stores.refresh import RefreshStore
from backendkit.errors import ConfigurationError

DEFAULT_LIFETIME = 900.0
"""Seconds an issued token lives by default (15 minutes, as access tokens should)."""

_RESERVED = frozenset({"sub", "iat", "exp", "jti", "iss", "aud"})


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _lifetime(value: object, error: type[ValueError] = ValueError) -> float:
    # Whole seconds go into exp: a lifetime under one second would make a token that has expired when issued.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value < math.inf:
        raise error(f"lifetime is a number of seconds, at least 1, not {value!r}")
    return float(value)


def _now(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"now is a time in seconds since the epoch, not {value!r}")
    return float(value)


class TokenIssuer:
    """Signs access tokens with one key; with a refresh store, issues and rotates refresh tokens too.

    Args:
        key: The signing key.
        issuer: The ``iss`` of every token.
        audience: The ``aud`` of every token.
        lifetime: Seconds an access token lives (900).
        typ: The ``typ`` header.
        backend: The signature backend (python-jose by default).
        refresh_store: Where refresh-token families are kept (``MemoryRefreshStore``,
            ``RedisRefreshStore``, ``SQLRefreshStore``, the Django model's store); turns on
            :meth:`issue_pair`, :meth:`refresh`, :meth:`logout` and :meth:`logout_everywhere`.
        refresh_policy: The families' idle and absolute lifetimes and the retry window.
        revocations: Where a revoked family's access tokens are revoked (the verifier's list).
        pepper: A server-side secret (16 bytes or more) refresh-token digests are keyed with.
        clock: The time, in seconds since the epoch, for refresh tokens.

    Example:
        >>> issuer = TokenIssuer(HMACKey("a-32-byte-secret-for-this-example!"), audience="api")
        >>> issuer.issue("user-1", now=0).count(".")
        2
        >>> from backendkit.auth import MemoryRefreshStore
        >>> sessions = TokenIssuer(HMACKey("a-32-byte-secret-for-this-example!"), refresh_store=MemoryRefreshStore())
        >>> first = sessions.issue_pair("user-1", claims={"roles": ["viewer"]})
        >>> second = sessions.refresh(first.refresh_token)
        >>> sessions.refresh(first.refresh_token, now=time.time() + 60)  # the spent token, a minute later
        Traceback (most recent call last):
        ...
        backendkit.auth._core.errors.InvalidGrant: The refresh token is invalid, expired or revoked.
        >>> sessions.refresh(second.refresh_token)  # the whole family was revoked
        Traceback (most recent call last):
        ...
        backendkit.auth._core.errors.InvalidGrant: The refresh token is invalid, expired or revoked.
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
        refresh_store: RefreshStore | None = None,
        refresh_policy: RefreshPolicy | None = None,
        revocations: Revocations | AsyncRevocations | None = None,
        pepper: str | bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(key, (HMACKey, PrivateKey)):
            raise ConfigurationError("a token is signed with an HMACKey or a PrivateKey")
        lifetime = _lifetime(lifetime, ConfigurationError)
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
        self.lifetime = lifetime
        self.rotator: Rotator | None = None
        if refresh_store is not None:
            self.rotator = Rotator(
                refresh_store,
                self._sign_entry,
                lifetime=lifetime,
                policy=refresh_policy or RefreshPolicy(),
                revocations=revocations,
                pepper=pepper_bytes(pepper),
                clock=clock,
            )
        elif refresh_policy is not None or revocations is not None or pepper is not None:
            raise ConfigurationError("refresh_policy, revocations and pepper are for refresh tokens: add refresh_store")

    def _sign_entry(self, subject: str, claims: Mapping[str, Any], entry: AccessEntry) -> str:
        jti, issued_at, expires_at = entry
        return self.issue(subject, claims=claims, lifetime=expires_at - issued_at, now=issued_at, jti=jti)

    def _refresh(self) -> Rotator:
        if self.rotator is None:
            raise ConfigurationError("this TokenIssuer has no refresh_store: refresh tokens are off")
        return self.rotator

    def issue_pair(self, subject: str, *, claims: Mapping[str, Any] | None = None) -> TokenPair:
        """A login: a new refresh-token family for ``subject``, and its first access and refresh tokens.

        The access token carries ``claims`` and ``sid`` (the family's id); every
        refresh signs the same claims again.
        """
        return self._refresh().start(subject, claims or {})

    def refresh(self, refresh_token: object, *, now: float | None = None) -> TokenPair:
        """The next pair for ``refresh_token``, which is spent; :class:`InvalidGrant` when it is not live.

        A spent token used again revokes its whole family and the family's access
        tokens, except within ``reuse_window`` of its first use, when the same pair
        is returned again (a client's retry).
        """
        return self._refresh().refresh(refresh_token, now)

    def logout(self, who: Principal | str) -> bool:
        """Revoke the family of ``who`` (a principal from one of its access tokens, or a family id)."""
        return self._refresh().logout(who)

    def logout_everywhere(self, subject: str) -> int:
        """Revoke every family of ``subject``; how many there were."""
        return self._refresh().logout_everywhere(subject)

    async def aissue_pair(self, subject: str, *, claims: Mapping[str, Any] | None = None) -> TokenPair:
        """:meth:`issue_pair` for async code (the store is asked in a worker thread)."""
        return await self._refresh().astart(subject, claims or {})

    async def arefresh(self, refresh_token: object, *, now: float | None = None) -> TokenPair:
        """:meth:`refresh` for async code."""
        return await self._refresh().arefresh(refresh_token, now)

    async def alogout(self, who: Principal | str) -> bool:
        """:meth:`logout` for async code."""
        return await self._refresh().alogout(who)

    async def alogout_everywhere(self, subject: str) -> int:
        """:meth:`logout_everywhere` for async code."""
        return await self._refresh().alogout_everywhere(subject)

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

        Args:
            subject: The ``sub`` claim.
            claims: Other claims (``roles``, ``scope``...); they cannot override the six this sets.
            lifetime: Seconds from ``iat`` to ``exp`` for this token (the issuer's ``lifetime``, 900 s,
                when ``None``); whole seconds, at least 1 (a fraction is dropped).
            now: The ``iat``, in seconds since the epoch (the current time when ``None``; a fraction
                is dropped): to issue at a known time, in tests or for a token that must line up with
                another clock.
            jti: The ``jti`` (a random 128-bit one when ``None``).

        Example:
            >>> key = HMACKey("a-32-byte-secret-for-this-example!")
            >>> issuer = TokenIssuer(key, audience="api")
            >>> token = issuer.issue("user-1", lifetime=60, now=1_800_000_000, jti="t-1")
            >>> from backendkit.auth import JWTVerifier
            >>> claims = JWTVerifier([key], audience="api").claims(token, now=1_800_000_030)
            >>> claims["iat"], claims["exp"], claims["jti"]
            (1800000000, 1800000060, 't-1')
        """
        extra = dict(claims or {})
        clash = _RESERVED & extra.keys()
        if clash:
            raise ValueError(f"set {sorted(clash)} through issue()'s own arguments")
        issued_at = int(time.time() if now is None else _now(now))
        payload: dict[str, Any] = {"sub": subject, "iat": issued_at}
        payload["exp"] = issued_at + int(self.lifetime if lifetime is None else _lifetime(lifetime))
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

    ``lifetime`` is the seconds from ``iat`` to ``exp`` (900 by default, at least 1),
    ``now`` the ``iat`` in seconds since the epoch (the current time by default): both
    as :meth:`TokenIssuer.issue` takes them. ``jti`` is random unless given.

    Example:
        >>> key = HMACKey("a-32-byte-secret-for-this-example!")
        >>> token = issue(key, "user-1", audience="api")
        >>> len(token.split("."))
        3
        >>> from backendkit.auth import JWTVerifier
        >>> expired = issue(key, "user-1", audience="api", lifetime=60, now=1_800_000_000)
        >>> JWTVerifier([key], audience="api").claims(expired, now=1_800_000_120)
        Traceback (most recent call last):
        ...
        backendkit.auth._core.errors.InvalidToken: The access token is invalid or has expired.
    """
    signer = TokenIssuer(key, issuer=issuer, audience=audience, lifetime=lifetime, backend=backend)
    return signer.issue(subject, claims=claims, now=now, jti=jti)


__all__ = ["DEFAULT_LIFETIME", "TokenIssuer", "TokenPair", "issue"]
