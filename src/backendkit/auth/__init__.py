"""Authentication and authorisation: hardened JWT verification, JWKS, revocation, principals and RBAC guards.

The policy is backendkit's and pure (``_compact``, ``_keyring``, ``_claims``,
``_principal``, ``_rbac``, ``_guards``, ``_header``, ``_jwkset``, ``_jwks``, ``_jwk``,
``_publish``): a token is taken apart strictly, selects among keys configuration
bound to one algorithm each, and has its claims checked with strict types against
a time passed in. A signature backend (python-jose by default, or PyJWT) only
checks signatures. Needs the ``jwt`` extra (or ``pyjwt``).

Example:
    >>> from backendkit.auth import HMACKey, JWTVerifier, Role, Roles, issue, require
    >>> key = HMACKey("a-32-byte-secret-for-this-example!")
    >>> roles = Roles({"viewer": Role(grants=["tasks:read"]), "admin": Role(inherits=["viewer"])})
    >>> verifier = JWTVerifier([key], audience="tasks-api", roles=roles)
    >>> principal = verifier.verify(issue(key, "u1", audience="tasks-api", claims={"roles": ["admin"]}))
    >>> sorted(principal.permissions)
    ['tasks:read']
"""

from __future__ import annotations

from backendkit.auth._bearer import DEFAULT_API_KEY_HEADER, BearerAuth, CredentialVerifier
from backendkit.auth._core.backend import SignatureBackend
from backendkit.auth._core.claims import DEFAULT_LEEWAY, MAX_LEEWAY
from backendkit.auth._core.compact import DEFAULT_MAX_SIZE
from backendkit.auth._core.errors import (
    GRANT_REASONS,
    KEY_REASONS,
    REASONS,
    CredentialsRequired,
    InsufficientScope,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    PermissionDenied,
)
from backendkit.auth._core.guards import AUTHENTICATES, Guard, GuardContext, predicate, require
from backendkit.auth._core.header import bearer_token
from backendkit.auth._core.keys import ALGORITHMS, HMACKey, PrivateKey, PublicKey
from backendkit.auth._core.principal import ClaimMapping, Principal
from backendkit.auth._core.publish import JWKS_MEDIA_TYPE, JWKS_PATH, JWKSDocument
from backendkit.auth._core.rbac import Role, Roles, permits
from backendkit.auth._core.refresh import RefreshPolicy
from backendkit.auth._grant import DEFAULT_REFRESH_PATH, arefresh_answer, refresh_answer
from backendkit.auth._issue import TokenIssuer, issue
from backendkit.auth._refresh import SESSION_CLAIM, TokenPair
from backendkit.auth._stores.memory import AsyncRevocations, MemoryRevocations, Revocations
from backendkit.auth._stores.refresh import MemoryRefreshStore, RefreshStore
from backendkit.auth._verifier import JWTVerifier, KeySource
from backendkit.auth.jwks import JWKSClient


def __getattr__(name: str) -> object:
    # The Redis stores need the redis extra, the SQL one the sqlalchemy extra; import them only when asked for.
    if name in ("RedisRevocations", "AsyncRedisRevocations", "RedisRefreshStore"):
        from backendkit.auth import redis

        return getattr(redis, name)
    if name == "SQLRefreshStore":
        from backendkit.auth import sqlalchemy

        return sqlalchemy.SQLRefreshStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALGORITHMS",
    "AUTHENTICATES",
    "DEFAULT_API_KEY_HEADER",
    "DEFAULT_LEEWAY",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_REFRESH_PATH",
    "GRANT_REASONS",
    "JWKS_MEDIA_TYPE",
    "JWKS_PATH",
    "KEY_REASONS",
    "MAX_LEEWAY",
    "REASONS",
    "SESSION_CLAIM",
    "AsyncRedisRevocations",
    "AsyncRevocations",
    "BearerAuth",
    "ClaimMapping",
    "CredentialVerifier",
    "CredentialsRequired",
    "Guard",
    "GuardContext",
    "HMACKey",
    "InsufficientScope",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidToken",
    "JWKSClient",
    "JWKSDocument",
    "JWTVerifier",
    "KeySource",
    "MemoryRefreshStore",
    "MemoryRevocations",
    "PermissionDenied",
    "Principal",
    "PrivateKey",
    "PublicKey",
    "RedisRefreshStore",
    "RedisRevocations",
    "RefreshPolicy",
    "RefreshStore",
    "Revocations",
    "Role",
    "Roles",
    "SQLRefreshStore",
    "SignatureBackend",
    "TokenIssuer",
    "TokenPair",
    "arefresh_answer",
    "bearer_token",
    "issue",
    "permits",
    "predicate",
    "refresh_answer",
    "require",
]
