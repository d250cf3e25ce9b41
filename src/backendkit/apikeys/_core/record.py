"""An API key as a store keeps it: the digest of its secret and what it grants, never the secret. Pure.

A record is immutable; a change (revoked, rotated, used) is a new record. It turns
into a plain dict of JSON types and back (:meth:`KeyRecord.to_dict`,
:meth:`KeyRecord.from_dict`), the one shape every store writes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

LAST_USED_EVERY = 60.0
"""Seconds between two writes of a key's ``last_used_at``: a busy key costs one write a minute, not one a request."""


def _names(value: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValueError(f"{what} is a list of names, not one string")
    names = tuple(sorted(set(value)))
    for name in names:
        if not isinstance(name, str) or not name or any(ch.isspace() or ch == "," for ch in name):
            raise ValueError(f"each of {what} is a non-empty name without spaces or commas, not {name!r}")
    return names


def _time(value: object, what: str, *, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} is a time in seconds since the epoch, not {value!r}")
    return float(value)


class KeyIdTaken(ValueError):
    """A store's answer to :meth:`~backendkit.apikeys.KeyStore.add` or ``rotate`` of a record whose id another key has.

    Nothing was written. :class:`~backendkit.apikeys.APIKeys` then makes the key again with a fresh
    id (an id is 71 random bits: all but impossible); any other ``ValueError`` of a store is raised.
    """


class RotationRefused(Enum):
    """Why a store's rotation wrote nothing, other than the key being unknown or rotated already.

    ``REVOKED``: the old key is revoked (at any time, even one a clock ahead stamped later than
    now). A revocation is never followed by a successor made after it: a rotation that read
    the key before it was revoked finds it so at the store's atomic step, and keeps nothing.
    """

    REVOKED = "revoked"


def rotation_refused(rotated_to: str | None, revoked_at: float | None) -> str | RotationRefused | None:
    """What stops a store rotating a key with these fields: whom it is rotated to already, its revocation, or ``None``.

    The condition of every store's atomic rotation, in this order: a key rotated, then revoked, still
    answers its successor's id (so a rotation sent twice is answered as the win it was).

    A store of your own answers its ``rotate`` by it, from the fields its conditional write found.

    Example:
        >>> rotation_refused(None, None) is None, rotation_refused("k2", 10.0), rotation_refused(None, 10.0)
        (True, 'k2', <RotationRefused.REVOKED: 'revoked'>)
    """
    if rotated_to is not None:
        return rotated_to
    return RotationRefused.REVOKED if revoked_at is not None else None


@dataclass(frozen=True)
class KeyRecord:
    """One API key, as stored.

    Attributes:
        id: The public key id (in the key itself, and in lists and logs).
        digest: The hex digest of the key (``backendkit.auth._core.opaque.digest``).
        owner: The subject of the principal the key authenticates.
        name: A label for people ("CI deploys").
        roles: Roles the key grants (through the role policy, as a token's do).
        scopes: Scopes the key grants.
        created_at: When it was made, seconds since the epoch.
        expires_at: When it stops working (``None``: never).
        last_used_at: When it last authenticated a request (to the minute).
        revoked_at: When it was revoked (``None``: it is not).
        rotated_to: The id of the key that replaced it, when it was rotated.
        prefix: The prefix it was made with (``bk_live_``): which environment it is for.
    """

    id: str
    digest: str = field(repr=False)
    owner: str
    name: str = ""
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    created_at: float = 0.0
    expires_at: float | None = None
    last_used_at: float | None = None
    revoked_at: float | None = None
    rotated_to: str | None = None
    prefix: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("a key record needs its id")
        if not isinstance(self.owner, str) or not self.owner:
            raise ValueError("a key has an owner: the subject it authenticates")
        if not isinstance(self.name, str) or len(self.name) > 200:
            raise ValueError("a key's name is a string of at most 200 characters")
        object.__setattr__(self, "roles", _names(self.roles, "roles"))
        object.__setattr__(self, "scopes", _names(self.scopes, "scopes"))
        _time(self.created_at, "created_at", optional=False)
        for what in ("expires_at", "last_used_at", "revoked_at"):
            _time(getattr(self, what), what)

    def refusal(self, now: float) -> str | None:
        """Why this key is refused at ``now`` (``"revoked"``, ``"expired"``), or ``None``."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return None

    def active(self, now: float) -> bool:
        """Whether the key authenticates at ``now``."""
        return self.refusal(now) is None

    def revoked(self, now: float) -> KeyRecord:
        """This key, revoked at ``now`` (a key revoked already keeps its first time)."""
        return self if self.revoked_at is not None else replace(self, revoked_at=now)

    def rotation_refused(self) -> str | RotationRefused | None:
        """What stops a store rotating this key now (:func:`rotation_refused`), or ``None``."""
        return rotation_refused(self.rotated_to, self.revoked_at)

    def rotated(self, to: str, until: float) -> KeyRecord:
        """This key, replaced by ``to`` and valid until ``until`` at the latest (the grace period)."""
        expires = until if self.expires_at is None else min(self.expires_at, until)
        return replace(self, rotated_to=to, expires_at=expires)

    def used(self, now: float) -> KeyRecord:
        """This key with ``last_used_at`` at ``now``."""
        return replace(self, last_used_at=now)

    def touch_due(self, now: float, last_written: float | None) -> bool:
        """Whether ``last_used_at`` is due a write at ``now`` (at most once per :data:`LAST_USED_EVERY`)."""
        last = self.last_used_at if last_written is None else max(last_written, self.last_used_at or 0.0)
        return last is None or now - last >= LAST_USED_EVERY

    def public(self) -> dict[str, Any]:
        """Everything but the digest: what a list of keys shows."""
        data = self.to_dict()
        del data["digest"]
        return data

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON types: what every store writes."""
        return {
            "id": self.id,
            "digest": self.digest,
            "owner": self.owner,
            "name": self.name,
            "roles": list(self.roles),
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
            "rotated_to": self.rotated_to,
            "prefix": self.prefix,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyRecord:
        """A record from :meth:`to_dict`'s shape (``ValueError`` when it is not one)."""
        try:
            return cls(
                id=data["id"],
                digest=data["digest"],
                owner=data["owner"],
                name=data.get("name", ""),
                roles=tuple(data.get("roles", ())),
                scopes=tuple(data.get("scopes", ())),
                created_at=data["created_at"],
                expires_at=data.get("expires_at"),
                last_used_at=data.get("last_used_at"),
                revoked_at=data.get("revoked_at"),
                rotated_to=data.get("rotated_to"),
                prefix=data.get("prefix", ""),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a key record: {exc}") from None


__all__ = ["LAST_USED_EVERY", "KeyIdTaken", "KeyRecord", "RotationRefused", "rotation_refused"]
