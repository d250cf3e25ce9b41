"""Refresh-token rotation, the shell: tokens made, the store asked once, access tokens signed and revoked.

:class:`~backendkit.auth.TokenIssuer` holds one :class:`Rotator` when it is given a
refresh store. A rotation makes the new refresh token, its seal and the new access
token's ``jti`` first, then asks the store once (one round trip), then signs. A
reuse revokes the family in the store and its live access tokens in the
revocation list. A store that cannot answer is a 503, whatever the policy: a
rotation cannot be skipped.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backendkit.auth._core.errors import InvalidGrant
from backendkit.auth._core.opaque import SECRET_BYTES, OpaqueFormat, digest
from backendkit.auth._core.principal import Principal
from backendkit.auth._core.refresh import FORMAT, AccessEntry, Family, Outcome, RefreshPolicy, Rotation, seal, unseal
from backendkit.auth._stores.memory import AsyncRevocations, Revocations
from backendkit.auth._stores.refresh import RefreshStore
from backendkit.errors import ConfigurationError, ServiceUnavailable
from backendkit.stores import Breaker, StoreUnavailable

logger = logging.getLogger("backendkit.auth")

SESSION_CLAIM = "sid"
"""The claim of an access token that names its refresh-token family (OpenID Connect's session id)."""

Sign = Callable[[str, Mapping[str, Any], AccessEntry], str]
"""Signs an access token: the subject, the claims, and the ``jti``, ``iat`` and ``exp``."""


@dataclass(frozen=True)
class TokenPair:
    """An access token and the refresh token that replaces it: RFC 6749 §5.1 through :meth:`response`."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105  (the RFC 6750 token type, not a secret)
    scope: str | None = None

    def response(self) -> dict[str, Any]:
        """The RFC 6749 §5.1 JSON body (sent with ``Cache-Control: no-store``); ``scope`` when the tokens have one."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }
        if self.scope is not None:
            body["scope"] = self.scope
        return body

    def __repr__(self) -> str:  # never the tokens, in a traceback or a debugger
        return f"TokenPair(expires_in={self.expires_in})"


class Rotator:
    """Families of refresh tokens in ``store``, access tokens signed by ``sign``, revoked in ``revocations``."""

    def __init__(
        self,
        store: RefreshStore,
        sign: Sign,
        *,
        lifetime: float,
        policy: RefreshPolicy,
        revocations: Revocations | AsyncRevocations | None,
        pepper: bytes | None,
        clock: Callable[[], float],
        token_format: OpaqueFormat = FORMAT,
    ) -> None:
        if not isinstance(store, RefreshStore):
            raise ConfigurationError(f"refresh_store is a refresh store (MemoryRefreshStore...), not {store!r}")
        if revocations is not None and not isinstance(revocations, (Revocations, AsyncRevocations)):
            raise ConfigurationError("revocations is a revocation list (MemoryRevocations, RedisRevocations...)")
        self.store = store
        self.sign = sign
        self.lifetime = int(lifetime)
        self.policy = policy
        self.revocations = revocations
        self._sync_list = revocations if isinstance(revocations, Revocations) else None  # (a Protocol check: once)
        self.pepper = pepper
        self.clock = clock
        self.format = token_format
        what = getattr(store, "store_name", "the refresh-token store")
        self.breaker = Breaker(1.0, logger=logger.name, what=what, store="refresh_tokens")

    # Sync.

    def start(self, subject: str, claims: Mapping[str, Any], now: float | None = None) -> TokenPair:
        """A new family for ``subject`` (a login) and its first pair."""
        now = self._now(now)
        refresh = self._new_token(secrets.token_bytes(16))
        parsed = self.format.parse(refresh)
        assert not isinstance(parsed, str)
        entry = self._entry(now)
        family = Family(
            id=parsed.id,
            subject=subject,
            claims=dict(claims),
            created_at=now,
            last_used_at=now,
            current=digest(parsed.body, self.pepper),
            access=(entry,),
        )
        pair = self._pair(family, entry, refresh)  # signed first: claims it cannot sign leave no family behind
        self._ask(self.store.create, family, self.policy)
        return pair

    def refresh(self, token: object, now: float | None = None) -> TokenPair:
        """The next pair for ``token``, or :class:`InvalidGrant`; a reuse revokes the family."""
        self._sync_only()
        now = self._now(now)
        parsed, rotation, successor = self._prepare(token, now)
        outcome = self._ask(self.store.rotate, parsed.id, digest(parsed.body, self.pepper), rotation, now, self.policy)
        self._revoke_access(_to_revoke(outcome, now), now)
        return self._answer(outcome, parsed.body, successor)

    def logout(self, who: Principal | str, now: float | None = None) -> bool:
        """Revoke a family, by the id or by a principal whose token names one (``sid``); whether it was found."""
        self._sync_only()
        family_id = _family_of(who)
        if family_id is None:
            return False
        now = self._now(now)
        family = self._ask(self.store.revoke, family_id, now, self.policy)
        if family is None:
            return False
        self._revoke_access(family.live_access(now), now)
        return True

    def logout_everywhere(self, subject: str, now: float | None = None) -> int:
        """Revoke every family of ``subject``; how many were revoked."""
        now = self._now(now)
        return sum(self.logout(family_id, now) for family_id in self._ask(self.store.families, subject))

    # Async: the stores are synchronous, so they run in a worker thread, off the event loop; an
    # async revocation list is awaited, a sync one runs in the thread too.

    async def astart(self, subject: str, claims: Mapping[str, Any], now: float | None = None) -> TokenPair:
        """:meth:`start` for async code."""
        return await asyncio.to_thread(self.start, subject, claims, now)

    async def arefresh(self, token: object, now: float | None = None) -> TokenPair:
        """:meth:`refresh` for async code."""
        now = self._now(now)
        parsed, rotation, successor = self._prepare(token, now)
        presented = digest(parsed.body, self.pepper)
        outcome = await asyncio.to_thread(
            self._ask, self.store.rotate, parsed.id, presented, rotation, now, self.policy
        )
        await self._arevoke_access(_to_revoke(outcome, now), now)
        return self._answer(outcome, parsed.body, successor)

    async def alogout(self, who: Principal | str, now: float | None = None) -> bool:
        """:meth:`logout` for async code."""
        family_id = _family_of(who)
        if family_id is None:
            return False
        now = self._now(now)
        family = await asyncio.to_thread(self._ask, self.store.revoke, family_id, now, self.policy)
        if family is None:
            return False
        await self._arevoke_access(family.live_access(now), now)
        return True

    async def alogout_everywhere(self, subject: str, now: float | None = None) -> int:
        """:meth:`logout_everywhere` for async code."""
        now = self._now(now)
        found = await asyncio.to_thread(self._ask, self.store.families, subject)
        return sum([await self.alogout(family_id, now) for family_id in found])

    # The parts.

    def _prepare(self, token: object, now: float) -> tuple[Any, Rotation, str]:
        parsed = self.format.parse(token)
        if isinstance(parsed, str):
            raise InvalidGrant(parsed)
        successor = self._new_token(parsed.id)
        rotation = Rotation(
            digest=digest(successor[: -len(parsed.check)], self.pepper),
            sealed=seal(parsed.body, successor, secrets.token_bytes(16)),
            access=self._entry(now),
        )
        return parsed, rotation, successor

    def _answer(self, outcome: Outcome, spent_body: str, successor: str) -> TokenPair:
        family = outcome.family
        if outcome.kind == "rotated":
            assert family is not None
            return self._pair(family, family.access[-1], successor)
        if outcome.kind == "retry":
            assert family is not None
            assert family.sealed is not None
            again = unseal(spent_body, family.sealed)
            if again is not None:  # the same pair the first use got: same refresh token, same access claims
                return self._pair(family, family.access[-1], again)
            raise InvalidGrant("unknown")
        if outcome.kind == "reused" and family is not None:
            logger.warning(
                "a spent refresh token was used again: family %s of %s revoked",
                family.id,
                family.subject,
                extra={"auth_reason": "reused", "refresh_family": family.id},
            )
        raise InvalidGrant(outcome.kind)

    def _pair(self, family: Family, entry: AccessEntry, refresh: str) -> TokenPair:
        claims = {**family.claims, SESSION_CLAIM: family.id}
        scope = claims.get("scope")
        access = self.sign(family.subject, claims, entry)
        return TokenPair(access, refresh, entry[2] - entry[1], scope=scope if isinstance(scope, str) else None)

    def _revoke_access(self, entries: Iterable[AccessEntry], now: float) -> None:
        entries = tuple(entries)
        if not entries or self.revocations is None:
            return
        revocations = self._sync_list
        if revocations is None:
            raise ConfigurationError("the revocation list is async-only: use arefresh()/alogout() with it")
        try:
            for jti, _, exp in entries:
                revocations.revoke(jti, float(exp), now)
        except StoreUnavailable as exc:
            self.breaker.failed(exc, "access tokens of a revoked family were not revoked")
            raise ServiceUnavailable(headers={"Retry-After": "1"}) from exc

    async def _arevoke_access(self, entries: Iterable[AccessEntry], now: float) -> None:
        entries = tuple(entries)
        if not entries or self.revocations is None:
            return
        if self._sync_list is not None:
            await asyncio.to_thread(self._revoke_access, entries, now)
            return
        revocations = self.revocations
        assert isinstance(revocations, AsyncRevocations)
        try:
            for jti, _, exp in entries:
                await revocations.arevoke(jti, float(exp), now)
        except StoreUnavailable as exc:
            self.breaker.failed(exc, "access tokens of a revoked family were not revoked")
            raise ServiceUnavailable(headers={"Retry-After": "1"}) from exc

    def _ask(self, operation: Callable[..., Any], *args: Any) -> Any:
        try:
            answer = operation(*args)
        except StoreUnavailable as exc:
            self.breaker.failed(exc, "refusing refreshes")
            raise ServiceUnavailable(headers={"Retry-After": "1"}) from exc
        self.breaker.answered()
        return answer

    def _new_token(self, family: bytes | str) -> str:
        return self.format.compose(family, secrets.token_bytes(SECRET_BYTES))

    def _entry(self, now: float) -> AccessEntry:
        issued = int(now)
        return (secrets.token_urlsafe(16), issued, issued + self.lifetime)

    def _sync_only(self) -> None:
        # Checked before the store is asked: a family revoked there and its access tokens left alive
        # (the list cannot be awaited from sync code) would be worse than refusing the call.
        if self.revocations is not None and self._sync_list is None:
            raise ConfigurationError("the revocation list is async-only: use arefresh()/alogout() with it")

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now


def _to_revoke(outcome: Outcome, now: float) -> tuple[AccessEntry, ...]:
    """The access tokens an outcome leaves to revoke: a revoked family's live ones, or those pushed out of its list.

    A family revoked already has its tokens revoked again (each is one idempotent write, at most
    ``MAX_ACCESS``): a reuse caught while the revocation list was down, answered 503, is made good by the
    next try instead of leaving the family's access tokens working until they expire.
    """
    if outcome.kind in ("reused", "revoked") and outcome.family is not None:
        return outcome.family.live_access(now)
    return outcome.evicted


def _family_of(who: Principal | str) -> str | None:
    family_id = who if isinstance(who, str) else who.claims.get(SESSION_CLAIM)
    return family_id if isinstance(family_id, str) else None


__all__ = ["SESSION_CLAIM", "Rotator", "TokenPair"]
