"""Who is calling: the :class:`Principal`, and the claim mapping that builds one from any IdP's claims.

Pure. Roles, scopes and permissions are read from configurable claim paths, so
one principal shape serves RFC 9068 tokens, Auth0, Keycloak, Entra ID and Cognito.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backendkit.auth._core.errors import InvalidToken
from backendkit.auth._core.rbac import Roles, permits

ClaimPath = str | Sequence[str]
"""A claim's name (taken whole, dots and all: Auth0's claims are URLs), or a path into nested claims."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    Attributes:
        subject: The ``sub`` claim.
        roles: Roles the token carries (through the claim mapping).
        scopes: Scopes the token grants.
        permissions: Effective permissions: what the roles grant (inherited ones
            included) and what the token lists itself (Auth0's ``permissions``).
        claims: Every verified claim.
    """

    subject: str
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def has_permission(self, permission: str) -> bool:
        """Whether the effective permissions cover ``permission`` (``*`` patterns included)."""
        return permits(self.permissions, permission)

    def as_dict(self) -> dict[str, Any]:
        """``sub``, ``roles``, ``scopes`` and ``permissions`` as sorted lists: what a ``/me`` route returns."""
        return {
            "sub": self.subject,
            "roles": sorted(self.roles),
            "scopes": sorted(self.scopes),
            "permissions": sorted(self.permissions),
        }


@dataclass(frozen=True)
class ClaimMapping:
    """Where roles, scopes and permissions are found in the claims; every listed path is read and merged.

    A string value is split on whitespace (``scope: "a b"``), a list must hold strings;
    anything else in a mapped claim is ``bad_claim``. Use the presets for common IdPs.

    Example:
        >>> mapping = ClaimMapping.keycloak(client="tasks-api")
        >>> claims = {"realm_access": {"roles": ["viewer"]}, "resource_access": {"tasks-api": {"roles": ["editor"]}}}
        >>> sorted(mapping.read(claims)[0])
        ['editor', 'viewer']
    """

    roles: tuple[ClaimPath, ...] = ("roles", "groups")
    scopes: tuple[ClaimPath, ...] = ("scope", "scp")
    permissions: tuple[ClaimPath, ...] = ("permissions",)

    @classmethod
    def keycloak(cls, client: str | None = None) -> ClaimMapping:
        """Realm roles, and the client's roles when ``client`` is named."""
        roles: list[ClaimPath] = [("realm_access", "roles")]
        if client is not None:
            roles.append(("resource_access", client, "roles"))
        return cls(roles=tuple(roles), scopes=("scope",), permissions=())

    @classmethod
    def auth0(cls, namespace: str) -> ClaimMapping:
        """Roles in the namespaced claim ``<namespace>roles`` an Action adds; ``scope`` and ``permissions``."""
        return cls(roles=(f"{namespace}roles",), scopes=("scope",), permissions=("permissions",))

    @classmethod
    def entra(cls) -> ClaimMapping:
        """Entra ID (Azure AD): app ``roles`` and delegated scopes in ``scp``."""
        return cls(roles=("roles",), scopes=("scp",), permissions=())

    @classmethod
    def cognito(cls) -> ClaimMapping:
        """Amazon Cognito: ``cognito:groups`` as roles, ``scope``."""
        return cls(roles=("cognito:groups",), scopes=("scope",), permissions=())

    def read(self, claims: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """The roles, scopes and permissions ``claims`` carry; :class:`InvalidToken` for a malformed one."""
        return _gather(claims, self.roles), _gather(claims, self.scopes), _gather(claims, self.permissions)


def _gather(claims: Mapping[str, Any], paths: Iterable[ClaimPath]) -> frozenset[str]:
    found: set[str] = set()
    for path in paths:
        if isinstance(path, str):
            value = claims.get(path)
        else:
            value = claims
            for name in path:
                value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            continue
        if isinstance(value, str):
            found.update(value.split())
        elif type(value) is list:
            for item in value:
                if not isinstance(item, str):
                    raise InvalidToken("bad_claim")
            found.update(value)
        else:
            raise InvalidToken("bad_claim")
    return frozenset(found)


def principal_from_claims(claims: Mapping[str, Any], mapping: ClaimMapping, roles: Roles | None) -> Principal:
    """The principal for verified ``claims`` (whose ``sub`` the claim checks have made a string)."""
    role_names, scopes, listed = mapping.read(claims)
    granted = roles.permissions_of(role_names) if roles is not None and role_names else frozenset()
    return Principal(claims["sub"], role_names, scopes, granted | listed if granted else listed, claims)


__all__ = ["ClaimMapping", "ClaimPath", "Principal", "principal_from_claims"]
