"""The :class:`APIKeys` manager: make, list, rotate and revoke keys; the secret is shown once, at creation."""

from __future__ import annotations

import math
import secrets
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from backendkit.apikeys._core.record import KeyIdTaken, KeyRecord, RotationRefused
from backendkit.apikeys._stores.memory import KeyStore
from backendkit.apikeys._verifier import APIKeyVerifier, formats
from backendkit.auth import PermissionDenied, Principal
from backendkit.auth._core.opaque import SECRET_BYTES, OpaqueFormat, digest, pepper_bytes
from backendkit.errors import ConfigurationError

DEFAULT_GRACE = 86_400.0
"""Seconds a rotated key keeps working by default: a day to deploy its successor."""
_TRIES = 3  # a taken id (71 random bits) is all but impossible; never loop for ever


@dataclass(frozen=True)
class NewKey:
    """A key just made: ``key`` is the secret, shown this once (only its digest is kept); ``record`` the rest."""

    key: str
    record: KeyRecord

    def __repr__(self) -> str:  # never the secret, in a traceback or a debugger
        return f"NewKey(id={self.record.id!r}, owner={self.record.owner!r})"


def _seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"{what} is a number of seconds, not {value!r}")
    return float(value)


def _ended(key_id: str, why: str) -> ValueError:
    return ValueError(f"key {key_id} is {why}: make a new one instead")


def _rotated_already(key_id: str, rotated_to: str) -> ValueError:
    return ValueError(f"key {key_id} was rotated already (to {rotated_to}): rotate that one")


def _ids_taken() -> RuntimeError:
    return RuntimeError(f"{_TRIES} key ids in a row were taken: the random source is broken")


class APIKeys:
    """API keys kept in ``store``: make them, list them, rotate and revoke them.

    Args:
        store: Where the records are kept.
        prefix: The prefix of the keys made here (``bk_live_``; ``bk_test_`` for a test environment).
        pepper: A server-side secret (16 bytes or more) the digests are keyed with (HMAC-SHA-256);
            without one they are plain SHA-256. Verifiers must be given the same pepper.
        clock: The time, in seconds since the epoch.

    Example:
        >>> from backendkit.apikeys import MemoryKeyStore
        >>> keys = APIKeys(MemoryKeyStore(), prefix="bk_test_")
        >>> made = keys.create("alice", name="CI", scopes=["tasks:read"])
        >>> made.key.startswith("bk_test_"), [record.name for record in keys.list("alice")]
        (True, ['CI'])
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        prefix: str = "bk_live_",
        pepper: str | bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(store, KeyStore):
            raise ConfigurationError(f"store is a key store (MemoryKeyStore, RedisKeyStore...), not {store!r}")
        self.store = store
        self.format: OpaqueFormat = formats(prefix)[0]
        self.pepper = pepper_bytes(pepper)
        self.clock = clock
        self._verifiers: weakref.WeakSet[APIKeyVerifier] = weakref.WeakSet()

    def verifier(self, *, prefixes: str | Iterable[str] | None = None, **options: Any) -> APIKeyVerifier:
        """A verifier of these keys (same store and pepper); a revocation made here is seen by it at once.

        ``options`` are :class:`APIKeyVerifier`'s (``roles``, ``cache_ttl``, ``on_store_error``...).
        """
        made = APIKeyVerifier(
            self.store, prefixes=self.format.prefix if prefixes is None else prefixes, pepper=self.pepper, **options
        )
        self._verifiers.add(made)
        return made

    def create(
        self,
        owner: str,
        *,
        name: str = "",
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (),
        expires_in: float | None = None,
    ) -> NewKey:
        """A new key for ``owner`` (the subject it authenticates), valid for ``expires_in`` seconds or for ever."""
        return self._make(self.format, owner, name, roles, scopes, expires_in)

    def _make(
        self,
        fmt: OpaqueFormat,
        owner: str,
        name: str,
        roles: Iterable[str],
        scopes: Iterable[str],
        expires_in: float | None,
    ) -> NewKey:
        lifetime = None if expires_in is None else _seconds(expires_in, "expires_in")
        for _ in range(_TRIES):
            now = self.clock()
            expires_at = None if lifetime is None else now + lifetime
            made = self._compose(fmt, owner, name, roles, scopes, expires_at, now)
            try:
                self.store.add(made.record)
            except KeyIdTaken:
                continue
            return made
        raise _ids_taken()

    def _compose(
        self,
        fmt: OpaqueFormat,
        owner: str,
        name: str,
        roles: Iterable[str],
        scopes: Iterable[str],
        expires_at: float | None,
        now: float,
    ) -> NewKey:
        """A new key and its record, made at ``now`` and valid until ``expires_at``, not kept anywhere yet."""
        key = fmt.compose(secrets.token_bytes(9), secrets.token_bytes(SECRET_BYTES))
        parsed = fmt.parse(key)
        assert not isinstance(parsed, str)
        record = KeyRecord(
            id=parsed.id,
            digest=digest(parsed.body, self.pepper),
            owner=owner,
            name=name,
            roles=tuple(roles),
            scopes=tuple(scopes),
            created_at=now,
            expires_at=expires_at,
            prefix=fmt.prefix,
        )
        return NewKey(key, record)

    def create_for(
        self,
        principal: Principal,
        *,
        name: str = "",
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (),
        expires_in: float | None = None,
    ) -> NewKey:
        """A key a signed-in user makes for themself: at most the roles and scopes of ``principal`` (else a 403)."""
        roles, scopes = set(roles), set(scopes)
        beyond = sorted((roles - principal.roles) | (scopes - principal.scopes))
        if beyond:
            raise PermissionDenied(message="A key cannot grant more than its owner has.", details={"beyond": beyond})
        return self.create(principal.subject, name=name, roles=roles, scopes=scopes, expires_in=expires_in)

    def get(self, key_id: str) -> KeyRecord | None:
        """The record of ``key_id`` (no secret in it), or ``None``."""
        return self.store.get(key_id)

    def list(self, owner: str | None = None) -> list[KeyRecord]:
        """The records of every key (of ``owner``), oldest first."""
        return self.store.list(owner)

    def revoke(self, key_id: str) -> bool:
        """Revoke ``key_id`` now; whether it exists. Verifiers made by :meth:`verifier` see it at once,
        others within their ``cache_ttl``."""
        found = self.store.revoke(key_id, self.clock())
        self._forget(key_id)
        return found

    def rotate(self, key_id: str, *, grace: float = DEFAULT_GRACE) -> NewKey:
        """A new key like ``key_id`` (its owner, name, roles, scopes, prefix and lifetime left).

        The old key keeps working for ``grace`` seconds more. A key is rotated once: of two rotations
        racing (two processes, two admins), one makes the successor and the other is refused as a
        rotation of a key rotated already, its own new key never kept. A revocation is never undone
        by a rotation in flight: one that read the key before it was revoked is refused as a rotation
        of a revoked key is, and keeps nothing.

        ``KeyError`` when ``key_id`` is unknown; ``ValueError`` when it is revoked, expired, or rotated already.
        """
        grace = _seconds(grace, "grace")
        old = self.store.get(key_id)
        if old is None:
            raise KeyError(key_id)
        now = self.clock()
        if not old.active(now):
            raise _ended(key_id, str(old.refusal(now)))
        if old.rotated_to is not None:  # a second successor would live only as long as the grace period
            raise _rotated_already(key_id, old.rotated_to)
        # The lifetime the old key has left (a second at least), from the check's own ``now``: the successor
        # ends exactly when the old key would have.
        expires_at = None if old.expires_at is None else max(old.expires_at, now + 1.0)
        fmt = formats(old.prefix)[0] if old.prefix else self.format  # the old key's environment (bk_test_...)
        for _ in range(_TRIES):
            made = self._compose(fmt, old.owner, old.name, old.roles, old.scopes, expires_at, now)
            try:  # the successor kept and the old key retired together, unless it is rotated already or revoked
                rotated_to = self.store.rotate(key_id, made.record, now + grace)
            except KeyIdTaken:  # the new id is taken: nothing was written
                continue
            if rotated_to is None:  # deleted since it was read
                raise KeyError(key_id)
            if rotated_to is RotationRefused.REVOKED:  # revoked since it was read: nothing was written
                raise _ended(key_id, "revoked")
            if rotated_to != made.record.id:  # another rotation won meanwhile: nothing was written
                raise _rotated_already(key_id, rotated_to)
            self._forget(key_id)
            return made
        raise _ids_taken()

    def _forget(self, key_id: str) -> None:
        for verifier in list(self._verifiers):
            verifier.forget(key_id)


__all__ = ["DEFAULT_GRACE", "APIKeys", "NewKey"]
