"""The :class:`JWTVerifier`: the shell around the pure policy; it reads the clock, fetches keys, asks revocations.

It is also the revocation list's outage policy: a list raises
:class:`~backendkit.stores.StoreUnavailable` when its store cannot answer, and the
verifier answers by ``on_store_error`` (a 503, or "not revoked"), through the store
kernel's breaker, so an outage costs one request's wait per ``retry_interval``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from backendkit.auth._core.backend import SignatureBackend
from backendkit.auth._core.claims import DEFAULT_LEEWAY, ClaimRules
from backendkit.auth._core.compact import DEFAULT_MAX_SIZE, CompactJWS
from backendkit.auth._core.errors import InvalidToken
from backendkit.auth._core.keyring import KeyRing, Verify
from backendkit.auth._core.keys import VerifyingKey, check_unique
from backendkit.auth._core.policy import accept, open_token
from backendkit.auth._core.principal import ClaimMapping, Principal, principal_from_claims
from backendkit.auth._core.rbac import Roles
from backendkit.auth._stores.memory import AsyncRevocations, Revocations
from backendkit.errors import ConfigurationError, ServiceUnavailable
from backendkit.stores import Breaker, OnStoreError, StoreUnavailable
from backendkit.stores._core import check_on_store_error
from backendkit.stores._outage import without_store

logger = logging.getLogger("backendkit.auth")


class KeySource(Protocol):
    """Keys found by kid somewhere else, a JWKS say: :class:`backendkit.auth.JWKSClient` is one."""

    def select(self, kid: str, alg: str) -> Verify:
        """The verify function of key ``kid``, bound to ``alg``, or :class:`InvalidToken`."""
        ...

    async def aselect(self, kid: str, alg: str) -> Verify:
        """:meth:`select` without blocking the event loop."""
        ...


class JWTVerifier:
    """Verifies compact JWS access tokens and returns the :class:`Principal`.

    Args:
        keys: The configured keys, each bound to one algorithm (and optionally a kid).
        jwks: Where keys with other kids are found (a :class:`JWKSClient`).
        issuer: The accepted ``iss``; required in every token when set.
        audience: The accepted ``aud`` values; required in every token when set.
        leeway: Seconds of clock skew forgiven, 0 to 60.
        typ: The ``typ`` header every token must have (``"at+jwt"`` for RFC 9068).
        required_claims: Claims every token must carry besides ``exp`` and ``sub``.
        max_size: The longest token read, in characters; longer ones are refused before decoding.
        mapping: Where roles, scopes and permissions are in the claims.
        roles: The role policy that turns roles into permissions.
        revocations: A revocation list; tokens then need a ``jti``.
        backend: The signature backend (python-jose by default).
        clock: The time, in seconds since the epoch.
        on_store_error: What a check answers when the revocation list's store cannot:
            ``"closed"`` raises :class:`~backendkit.errors.ServiceUnavailable` (503,
            ``Retry-After: 1``: a revoked token is never accepted because Redis was down),
            ``"open"`` answers "not revoked". By default the list's own ``on_store_error``
            (a ``RedisRevocations``'), else ``"closed"``. Logged once per outage.
        retry_interval: Seconds between tries of a failed revocation store: meanwhile
            checks answer by the policy at once (the breaker).

    Example:
        >>> from backendkit.auth import HMACKey, issue
        >>> key = HMACKey("a-32-byte-secret-for-this-example!")
        >>> verifier = JWTVerifier([key], issuer="https://auth.example.test/", audience="api")
        >>> token = issue(key, "user-1", issuer="https://auth.example.test/", audience="api", claims={"roles": ["x"]})
        >>> verifier.verify(token).subject
        'user-1'
    """

    def __init__(
        self,
        keys: Iterable[VerifyingKey] = (),
        *,
        jwks: KeySource | None = None,
        issuer: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        typ: str | None = None,
        required_claims: Iterable[str] = (),
        max_size: int = DEFAULT_MAX_SIZE,
        mapping: ClaimMapping | None = None,
        roles: Roles | None = None,
        revocations: Revocations | AsyncRevocations | None = None,
        backend: SignatureBackend | None = None,
        clock: Callable[[], float] = time.time,
        on_store_error: OnStoreError | None = None,
        retry_interval: float = 1.0,
    ) -> None:
        if backend is None:
            from backendkit.auth.backends import default_backend

            backend = default_backend()
        configured = check_unique(keys)
        if not configured and jwks is None:
            raise ConfigurationError("a JWTVerifier needs keys, a jwks, or both")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 64:
            raise ConfigurationError(f"max_size is a number of characters (at least 64), not {max_size!r}")
        required = set(required_claims)
        if revocations is not None:
            if not isinstance(revocations, (Revocations, AsyncRevocations)):
                raise ConfigurationError("revocations is a revocation list (MemoryRevocations, RedisRevocations...)")
            required.add("jti")  # a token that cannot be revoked is not accepted where revocation is promised
        self.backend = backend
        self.ring = KeyRing((key.kid, key.alg, backend.verifier(key)) for key in configured)
        self.jwks = jwks
        self.rules = ClaimRules.build(issuer=issuer, audience=audience, leeway=leeway, typ=typ, required=required)
        self.max_size = max_size
        self.mapping = mapping or ClaimMapping()
        self.roles = roles
        self.revocations = revocations
        # Which protocols the list has, found once (an isinstance check on a Protocol costs microseconds).
        self._sync_list = revocations if isinstance(revocations, Revocations) else None
        self._async_list = revocations if isinstance(revocations, AsyncRevocations) else None
        self.clock = clock
        policy = getattr(revocations, "on_store_error", "closed") if on_store_error is None else on_store_error
        self.on_store_error = check_on_store_error(policy)
        what = getattr(revocations, "store_name", "the revocation list")
        self.breaker = Breaker(retry_interval, logger=logger.name, what=what, store="revocations")

    def _local_key(self, jws: CompactJWS) -> Verify | None:
        return self.ring.select(jws.header, allow_missing=self.jwks is not None)

    def claims(self, token: object, *, now: float | None = None) -> dict[str, Any]:
        """The verified claims of ``token`` (revocation is not asked), or :class:`InvalidToken`."""
        jws = open_token(token, self.max_size)
        verify = self._local_key(jws)
        if verify is None:
            assert self.jwks is not None
            verify = self.jwks.select(jws.header["kid"], jws.header["alg"])
        return accept(jws, verify, self.rules, self.clock() if now is None else now)

    async def aclaims(self, token: object, *, now: float | None = None) -> dict[str, Any]:
        """:meth:`claims` for async code: a key fetch does not block the event loop."""
        jws = open_token(token, self.max_size)
        verify = self._local_key(jws)
        if verify is None:
            assert self.jwks is not None
            verify = await self.jwks.aselect(jws.header["kid"], jws.header["alg"])
        return accept(jws, verify, self.rules, self.clock() if now is None else now)

    def verify(self, token: object, *, now: float | None = None) -> Principal:
        """The principal ``token`` authenticates, or :class:`InvalidToken` (``reason`` says why)."""
        now = self.clock() if now is None else now
        claims = self.claims(token, now=now)
        if self.revocations is not None:
            revocations = self._sync_list
            if revocations is None:
                raise ConfigurationError("this revocation list is async: verify with averify()")
            if self._usable():
                try:
                    revoked: bool | None = revocations.is_revoked(claims["jti"], now)
                except StoreUnavailable as exc:
                    revoked = self._unavailable(exc)
                self._refuse_if(revoked)
        return principal_from_claims(claims, self.mapping, self.roles)

    async def averify(self, token: object, *, now: float | None = None) -> Principal:
        """:meth:`verify` for async code."""
        now = self.clock() if now is None else now
        claims = await self.aclaims(token, now=now)
        if self.revocations is not None and self._usable():
            try:
                revoked: bool | None = await self._ais_revoked(claims["jti"], now)
            except StoreUnavailable as exc:
                revoked = self._unavailable(exc)
            self._refuse_if(revoked)
        return principal_from_claims(claims, self.mapping, self.roles)

    def revoke(self, principal: Principal, *, now: float | None = None) -> None:
        """Revoke the token ``principal`` was verified from, until its ``exp`` (a logout)."""
        self._revocations_for(Revocations)
        assert self._sync_list is not None
        try:
            self._sync_list.revoke(principal.claims["jti"], self._refused_until(principal), self._now(now))
        except StoreUnavailable as exc:
            raise self._not_stored(exc) from exc
        self.breaker.answered()

    async def arevoke(self, principal: Principal, *, now: float | None = None) -> None:
        """:meth:`revoke` for async code."""
        self._revocations_for(AsyncRevocations)
        jti, until, at = principal.claims["jti"], self._refused_until(principal), self._now(now)
        try:
            if self._async_list is not None:
                await self._async_list.arevoke(jti, until, at)
            else:
                assert self._sync_list is not None
                await asyncio.to_thread(self._sync_list.revoke, jti, until, at)
        except StoreUnavailable as exc:
            raise self._not_stored(exc) from exc
        self.breaker.answered()

    @property
    def checks_sync(self) -> bool:
        """Whether :meth:`verify` (not only :meth:`averify`) can be used: no revocation list is async-only."""
        return self.revocations is None or self._sync_list is not None

    # The outage policy of the revocation list (the breaker skips a failed store meanwhile).

    async def _ais_revoked(self, jti: str, now: float) -> bool:
        if self._async_list is not None:
            return await self._async_list.ais_revoked(jti, now)
        assert self._sync_list is not None  # a blocking list (RedisRevocations): in a worker thread, off the loop
        return await asyncio.to_thread(self._sync_list.is_revoked, jti, now)

    def _usable(self) -> bool:
        if self.breaker.usable():
            return True
        self._unavailable(None)  # closed: raises; open: "not revoked", nothing to ask
        return False

    def _unavailable(self, exc: StoreUnavailable | None) -> bool | None:
        """A check without its store: a 503 when closed, else no answer (None)."""
        without_store(self.breaker, exc, self.on_store_error)
        return None

    def _refuse_if(self, revoked: bool | None) -> None:
        """The list's answer (``None``: none, failing open): refused when revoked; an answer closes the breaker."""
        if revoked is None:
            return
        self.breaker.answered()
        if revoked:
            raise InvalidToken("revoked")

    def _not_stored(self, exc: StoreUnavailable) -> ServiceUnavailable:
        """A revocation that could not be stored: a 503 whatever the policy (a silent logout is worse)."""
        self.breaker.failed(exc, "a revocation was not stored")
        return ServiceUnavailable(headers={"Retry-After": "1"})

    def _refused_until(self, principal: Principal) -> float:
        # Until the token would be refused anyway: its exp, plus the leeway verify forgives.
        return float(principal.claims["exp"]) + self.rules.leeway

    def _revocations_for(self, kind: type[Any]) -> None:
        if self.revocations is None:
            raise ConfigurationError("this verifier has no revocation list to revoke with")
        if kind is Revocations and self._sync_list is None:
            raise ConfigurationError("this revocation list is async: revoke with arevoke()")

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now


__all__ = ["JWTVerifier", "KeySource"]
