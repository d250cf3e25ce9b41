"""Logins and refresh tokens in every example: ``POST /auth/login``, ``POST /auth/refresh``, and the logout's family.

``BACKENDKIT_EXAMPLE_USERS`` lists who may log in, comma-separated ``name:password:role``
entries (``ada:correct-horse:admin,bob:battery-staple:viewer``; a password may hold a
colon, not a comma); none by default, so every login is refused. The role is one of
``examples/_auth.py``'s. A login is JSON, ``{"username": ..., "password": ...}``, checked
in constant time against every entry; a wrong one is a 401 ``INVALID_CREDENTIALS``.

A login answers RFC 6749 §5.1 JSON (``access_token``, ``token_type``, ``expires_in``,
``refresh_token``, ``scope``), never cached: the access token is one the examples'
verifier accepts (HS256, same issuer and audience, 15 minutes, ``roles`` and a
``scope`` of the role's permissions), the refresh token opens a *family*.
``POST /auth/refresh`` (RFC 6749 §6: a form with ``grant_type=refresh_token``) spends it
and answers the next pair; a spent token used again revokes the family and its access
tokens (RFC 6749 §5.2 ``invalid_grant`` from then on). ``POST /auth/logout`` revokes the
token it is called with and its family.

The families live in Redis when ``BACKENDKIT_EXAMPLE_REDIS_URL`` is set (a reuse is seen
by every worker process), in memory otherwise. ``BACKENDKIT_EXAMPLE_REFRESH_PEPPER`` (16
bytes or more), when set, keys the digests the store keeps: a stolen copy of the store
cannot then be checked against guessed tokens, nor a token of another deployment be
taken for one of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backendkit.apikeys import CREDENTIAL
from backendkit.auth import (
    AsyncRevocations,
    HMACKey,
    MemoryRefreshStore,
    Principal,
    RefreshStore,
    Revocations,
    TokenIssuer,
)
from backendkit.errors import ConfigurationError, Forbidden, Unauthorized
from examples import _auth, _redis

TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
"""The headers of a login's answers, as RFC 6749 §5.1 has them for a token response: never stored by a cache."""
TOKEN_HEADERS_SCHEMA = {name: {"schema": {"type": "string", "enum": [value]}} for name, value in TOKEN_HEADERS.items()}
"""The same, as an OpenAPI response's ``headers``."""


class Login(BaseModel):
    """What ``POST /auth/login`` takes."""

    model_config = ConfigDict(strict=True, extra="forbid")

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    """RFC 6749 §5.1: what a login and a refresh answer."""

    access_token: str = Field(description="A JWT for `Authorization: Bearer`.")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds the access token lives.")
    refresh_token: str = Field(description="An opaque `bkr_` token for `POST /auth/refresh`, used once.")
    scope: str = Field(description="The access token's scopes, space-separated: the user's role's permissions.")


class BadCredentials(Unauthorized):
    """401: no user has this name and password (which one is wrong is not said).

    The challenge names the scheme this API takes (RFC 9110 §15.5.2 requires one on a 401):
    the bearer token a successful login gives.
    """

    code = "INVALID_CREDENTIALS"
    message = "The username or password is wrong."

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": 'Bearer realm="api"', **TOKEN_HEADERS})


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


@dataclass(frozen=True)
class User:
    """One entry of ``BACKENDKIT_EXAMPLE_USERS``: the name, the password's digest, the role."""

    name: str
    password: bytes
    role: str

    def __repr__(self) -> str:  # the digest stays out of tracebacks and logs
        return f"User(name={self.name!r}, role={self.role!r})"


def parse_users(raw: str) -> tuple[User, ...]:
    """The users ``raw`` lists (``name:password:role,...``); a ``ConfigurationError`` naming a bad entry.

    The error names the entry by its position, never by its text (which holds a password).
    """
    users: list[User] = []
    for number, entry in enumerate(raw.split(","), 1):
        if not entry.strip():
            continue
        name, _, rest = entry.strip().partition(":")
        password, _, role = rest.rpartition(":")
        if not name or not password or not role:
            raise ConfigurationError(f"BACKENDKIT_EXAMPLE_USERS: entry {number} is not name:password:role")
        if role not in _auth.ROLES.names:
            raise ConfigurationError(f"BACKENDKIT_EXAMPLE_USERS: entry {number} has a role the examples do not define")
        if any(user.name == name for user in users):
            raise ConfigurationError(f"BACKENDKIT_EXAMPLE_USERS: entry {number} repeats a name")
        users.append(User(name, _digest(password), role))
    return tuple(users)


def users() -> tuple[User, ...]:
    """The users of ``BACKENDKIT_EXAMPLE_USERS`` (none when unset)."""
    return parse_users(os.environ.get("BACKENDKIT_EXAMPLE_USERS", ""))


def authenticate(known: Iterable[User], login: Login) -> User:
    """The user ``login`` names, or :class:`BadCredentials`.

    Every entry is compared, name and password digests alike, with no early exit: how
    long a refusal takes says nothing of which part was wrong, nor how much of it.
    """
    name, password = _digest(login.username), _digest(login.password)
    found = None
    for user in known:
        same_name = hmac.compare_digest(_digest(user.name), name)
        same_password = hmac.compare_digest(user.password, password)
        if same_name & same_password:
            found = user
    if found is None:
        raise BadCredentials()
    return found


def claims(user: User) -> dict[str, Any]:
    """The claims of ``user``'s access tokens: the role, and its permissions as the scope."""
    return {"roles": [user.role], "scope": " ".join(sorted(_auth.ROLES.permissions_of([user.role])))}


def refresh_store() -> RefreshStore:
    """Where refresh-token families are kept: the shared Redis, or this process's memory."""
    url = _redis.url()
    if not url:
        return MemoryRefreshStore()  # one process's
    from backendkit.auth.redis import RedisRefreshStore

    store: RefreshStore = RedisRefreshStore.from_url(url)
    return store


def pepper() -> str | None:
    """``BACKENDKIT_EXAMPLE_REFRESH_PEPPER``, or ``None``."""
    return os.environ.get("BACKENDKIT_EXAMPLE_REFRESH_PEPPER") or None


def issuer(revoked: Revocations | AsyncRevocations | None) -> TokenIssuer:
    """The app's token issuer: the verifier's key, issuer and audience, and its revocation list ``revoked``."""
    return TokenIssuer(
        HMACKey(_auth.secret()),
        issuer=_auth.ISSUER,
        audience=_auth.AUDIENCE,
        refresh_store=refresh_store(),
        revocations=revoked,
        pepper=pepper(),
    )


def token_body(response: dict[str, Any]) -> bytes:
    """A §5.1 body, compact, the same bytes on every framework (as ``POST /auth/refresh`` writes them)."""
    return json.dumps(response, separators=(",", ":")).encode()


class NoSession(Forbidden):
    """403: ``POST /auth/logout`` with an API key, which has no session: a key is revoked, not logged out."""

    message = "An API key has no session to log out of: revoke the key instead."


def logged_in(principal: Principal) -> Principal:
    """``principal`` when a token made it; :class:`NoSession` when an API key did."""
    if principal.claims.get("cred") == CREDENTIAL:
        raise NoSession()
    return principal
