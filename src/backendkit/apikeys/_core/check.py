"""The check of a presented API key against its record, and the principal it makes. Pure.

An unknown id and a wrong secret answer alike: both compare a digest (the unknown
one against a digest no key has), both are refused with the same error, and
only the log line's reason tells them apart.
"""

from __future__ import annotations

from backendkit.apikeys._core.record import KeyRecord
from backendkit.auth._core.opaque import same_digest
from backendkit.auth._core.principal import Principal
from backendkit.auth._core.rbac import Roles

_NO_KEY = "0" * 64  # compared against when the id is unknown, so that path does the same work

CREDENTIAL = "api_key"
"""The ``cred`` claim of a principal an API key made (a token's principal has none)."""


def refusal(record: KeyRecord | None, presented: str, now: float) -> str | None:
    """Why the key whose digest is ``presented`` is refused at ``now``, or ``None`` when it is accepted.

    The reasons: ``unknown_key``, ``bad_secret``, ``revoked``, ``expired``.
    """
    matches = same_digest(_NO_KEY if record is None else record.digest, presented)
    if record is None:
        return "unknown_key"
    if not matches:
        return "bad_secret"
    return record.refusal(now)


def principal_of(record: KeyRecord, roles: Roles | None) -> Principal:
    """The principal ``record`` authenticates: its owner, roles, scopes, and the permissions the roles grant."""
    role_names = frozenset(record.roles)
    granted = roles.permissions_of(role_names) if roles is not None and role_names else frozenset()
    claims = {"sub": record.owner, "cred": CREDENTIAL, "key_id": record.id}
    return Principal(record.owner, role_names, frozenset(record.scopes), granted, claims)


__all__ = ["CREDENTIAL", "principal_of", "refusal"]
