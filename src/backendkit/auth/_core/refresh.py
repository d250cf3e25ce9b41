"""Refresh tokens that rotate and catch reuse: the family's state and every decision about it. Pure.

A login starts a *family*: one refresh token at a time, each used once. Using the
live token rotates it (the old one is spent, a new pair is returned). Presenting
a spent token again means two parties hold the family's tokens, one of them a
thief: the whole family is revoked, its access tokens too (RFC 9700, §4.14.2).

One exception keeps a flaky network from logging users out: the token spent
last, presented again within ``reuse_window`` seconds, is a client's retry (the
answer to its first try was lost, or two tabs refreshed at once). It gets the
*same* pair its first use got, never a second one: the successor is kept
sealed under the spent token's own secret, which the store never holds, so
only the party that presented the spent token can open it.

Stores keep a :class:`Family` and the digests of its spent tokens, and run
:func:`decide` atomically (a lock, a Lua script, a row lock). The Redis script
mirrors it; the golden vectors in the tests hold every store to it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from backendkit.auth._core.opaque import OpaqueFormat

FORMAT = OpaqueFormat("bkr_", id_chars=22)
"""Refresh tokens: ``bkr_``, the family's id (128 bits), the secret, the check digits."""

Kind = Literal["rotated", "retry", "reused", "expired", "revoked", "unknown"]
"""What :func:`decide` found: a rotation, a retry within the window, or a refusal and why."""

AccessEntry = tuple[str, int, int]
"""An access token the family issued: its ``jti``, ``iat`` and ``exp``."""

MAX_ACCESS = 8
"""Live access tokens a family lists at most. A client refreshing faster than its tokens expire pushes the
oldest out of the list, and the shell revokes each one pushed out at once: the list stays small, and a
family's revocation still reaches every access token it issued."""


def _seconds(value: object, what: str, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < math.inf:
        raise ValueError(f"{what} is a number of seconds, at least {low:g}, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class RefreshPolicy:
    """How long a family lives, and how a retry is told from a reuse.

    Args:
        idle: Seconds a family may go unused before it ends (14 days).
        lifetime: Seconds after the login when it ends, however used (30 days).
        reuse_window: Seconds during which the token spent last still returns the pair it got
            (10 s: a retry); 0 makes every second use a reuse.
    """

    idle: float = 14 * 86_400.0
    lifetime: float = 30 * 86_400.0
    reuse_window: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "idle", _seconds(self.idle, "idle", 1))
        object.__setattr__(self, "lifetime", _seconds(self.lifetime, "lifetime", 1))
        object.__setattr__(self, "reuse_window", _seconds(self.reuse_window, "reuse_window", 0))
        if self.reuse_window > 300:
            raise ValueError("reuse_window is meant for retries: at most 300 seconds")


@dataclass(frozen=True)
class Family:
    """One login's refresh tokens, as a store keeps it (digests only).

    Attributes:
        id: The family id (public: it is in each of its tokens).
        subject: Who logged in.
        claims: The access tokens' claims besides the registered ones (``roles``, ``scope``...).
        created_at: When the family began (the login).
        last_used_at: When a token of it was last used (or issued).
        generation: How many rotations it has had.
        current: The digest of its live token.
        previous: The digest of the token spent last.
        spent_at: When that token was spent.
        sealed: The pair's refresh token that use returned, sealed under the spent token's secret.
        access: The access tokens it issued that have not expired, oldest first.
        revoked_at: When it was revoked, by a logout or a reuse.
    """

    id: str
    subject: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    last_used_at: float = 0.0
    generation: int = 0
    current: str = field(default="", repr=False)
    previous: str | None = field(default=None, repr=False)
    spent_at: float | None = None
    sealed: str | None = field(default=None, repr=False)
    access: tuple[AccessEntry, ...] = ()
    revoked_at: float | None = None

    def ends_at(self, policy: RefreshPolicy) -> float:
        """When the family ends unless used again: the sooner of its idle and absolute ends."""
        return min(self.last_used_at + policy.idle, self.created_at + policy.lifetime)

    def live_access(self, now: float) -> tuple[AccessEntry, ...]:
        """The access tokens not yet expired at ``now``."""
        return tuple(entry for entry in self.access if entry[2] > now)

    def revoked(self, now: float) -> Family:
        """The family revoked at ``now`` (its first revocation time kept); no retry can be answered any more."""
        return replace(self, revoked_at=self.revoked_at if self.revoked_at is not None else now, sealed=None)

    def to_dict(self) -> dict[str, Any]:
        """The family as JSON types (what stores write)."""
        return {
            "id": self.id,
            "subject": self.subject,
            "claims": dict(self.claims),
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "generation": self.generation,
            "current": self.current,
            "previous": self.previous,
            "spent_at": self.spent_at,
            "sealed": self.sealed,
            "access": [list(entry) for entry in self.access],
            "revoked_at": self.revoked_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Family:
        """A family from :meth:`to_dict`'s shape."""
        return cls(
            id=data["id"],
            subject=data["subject"],
            claims=dict(data.get("claims") or {}),
            created_at=float(data["created_at"]),
            last_used_at=float(data["last_used_at"]),
            generation=int(data.get("generation", 0)),
            current=data["current"],
            previous=data.get("previous"),
            spent_at=None if data.get("spent_at") is None else float(data["spent_at"]),
            sealed=data.get("sealed"),
            access=tuple((str(jti), int(iat), int(exp)) for jti, iat, exp in data.get("access") or ()),
            revoked_at=None if data.get("revoked_at") is None else float(data["revoked_at"]),
        )


@dataclass(frozen=True)
class Rotation:
    """What a rotation writes, made by the shell before the store is asked (one round trip).

    Attributes:
        digest: The digest of the new refresh token.
        sealed: The new refresh token sealed under the presented one's secret (:func:`seal`).
        access: The new access token's ``jti``, ``iat`` and ``exp``.
    """

    digest: str = field(repr=False)
    sealed: str = field(repr=False)
    access: AccessEntry


@dataclass(frozen=True)
class Outcome:
    """What a store answered: ``kind``, and the family as it is afterwards (``None`` when unknown).

    ``spent``: the digest the store must now remember as spent (a rotation's), else ``None``.
    ``evicted``: live access tokens pushed out of the family's list (see :data:`MAX_ACCESS`), to revoke.
    """

    kind: Kind
    family: Family | None = None
    spent: str | None = None
    evicted: tuple[AccessEntry, ...] = ()


def decide(
    family: Family | None, presented: str, was_spent: bool, rotation: Rotation, now: float, policy: RefreshPolicy
) -> Outcome:
    """What presenting the token whose digest is ``presented`` does to ``family`` at ``now``.

    Args:
        family: The family the token names, or ``None`` when the store has none.
        presented: The presented token's digest.
        was_spent: Whether that digest is one of the family's spent tokens (older than ``previous``).
        rotation: What a rotation writes.
        now: The time.
        policy: The lifetimes and the reuse window.

    The order matters: a spent token is a reuse even in an ended family (the thief
    learns nothing), and a family already revoked stays revoked.
    """
    if family is None:
        return Outcome("unknown")
    if family.revoked_at is not None:
        return Outcome("revoked", family)
    if presented == family.current:
        if now >= family.ends_at(policy):
            return Outcome("expired", family)
        access = (*family.live_access(now), rotation.access)
        evicted, access = access[:-MAX_ACCESS], access[-MAX_ACCESS:]
        rotated = replace(
            family,
            last_used_at=now,
            generation=family.generation + 1,
            current=rotation.digest,
            previous=family.current,
            spent_at=now,
            sealed=rotation.sealed,
            access=access,
        )
        return Outcome("rotated", rotated, spent=family.current, evicted=evicted)
    if presented == family.previous:
        if rotation.digest == family.current and family.sealed is not None and family.access:
            return Outcome("retry", family)  # this very rotation, sent again (a lost reply): whatever the window
        # Within the window either way: a rotation that read its clock before the winner of a race took
        # the lock comes "before" it; beyond the window either way (a clock far behind) it is a reuse.
        waited = None if family.spent_at is None else abs(now - family.spent_at)
        retry = waited is not None and waited < policy.reuse_window  # (0: never a retry)
        if retry and family.sealed is not None and family.access:
            return Outcome("retry", family)
        return Outcome("reused", family.revoked(now))
    if was_spent:
        return Outcome("reused", family.revoked(now))
    return Outcome("unknown")  # a forged secret under a real family id: refused, nothing revoked


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = []
    for counter in range((length + 31) // 32):
        blocks.append(hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest())
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def _seal_key(spent_body: str) -> bytes:
    # Keyed by the spent token itself: the store holds only SHA-256(body), from which this cannot be made.
    return hmac.new(spent_body.encode("ascii"), b"backendkit refresh seal", hashlib.sha256).digest()


def seal(spent_body: str, successor: str, nonce: bytes) -> str:
    """``successor`` (a refresh token) sealed under the token spent for it (``nonce``: 16 random bytes).

    HMAC-SHA-256 in counter mode as the stream and an HMAC tag: only the holder of the
    spent token opens it (:func:`unseal`), and a tampered seal does not open.
    """
    key = _seal_key(spent_body)
    data = successor.encode("ascii")
    body = _xor(data, _keystream(key, nonce, len(data)))
    tag = hmac.new(key, nonce + body, hashlib.sha256).digest()[:16]
    return (nonce + body + tag).hex()


def unseal(spent_body: str, sealed: str) -> str | None:
    """The refresh token :func:`seal` sealed, or ``None`` when ``sealed`` is not one under this token."""
    try:
        raw = bytes.fromhex(sealed)
    except ValueError:
        return None
    if len(raw) < 33:
        return None
    nonce, body, tag = raw[:16], raw[16:-16], raw[-16:]
    key = _seal_key(spent_body)
    if not hmac.compare_digest(hmac.new(key, nonce + body, hashlib.sha256).digest()[:16], tag):
        return None
    return _xor(body, _keystream(key, nonce, len(body))).decode("ascii", "replace")


__all__ = [
    "FORMAT",
    "MAX_ACCESS",
    "AccessEntry",
    "Family",
    "Kind",
    "Outcome",
    "RefreshPolicy",
    "Rotation",
    "decide",
    "seal",
    "unseal",
]
