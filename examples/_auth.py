"""The authentication every example uses: HS256 from a secret, RS256/ES256 by kid from a JWKS, and three roles.

``BACKENDKIT_EXAMPLE_JWT_SECRET`` is the HS256 secret; when it is unset, a
development secret fixed here is used, with a warning at start-up (never deploy
it). ``BACKENDKIT_EXAMPLE_JWKS_URL``, when set, names a JWKS whose RS256 and
ES256 keys are accepted by kid too. Tokens come from ``https://auth.example.test/``
for the audience ``tasks-api``, with ``sub``, ``exp``, ``roles`` (a list) and
``scope`` (space-separated). A logout revokes its token in Redis when
``BACKENDKIT_EXAMPLE_REDIS_URL`` is set (every worker process refuses it), in memory otherwise.
"""

from __future__ import annotations

import logging
import os

from backendkit.auth import AsyncRevocations, HMACKey, JWTVerifier, MemoryRevocations, Revocations, Role, Roles
from examples import _redis

ISSUER = "https://auth.example.test/"
AUDIENCE = "tasks-api"
DEV_JWT_SECRET = "example-only-jwt-secret-never-deploy-it!"  # noqa: S105  (an example's, replaced by the env)

ROLES = Roles(
    {
        "viewer": Role(grants=["tasks:read"]),
        "editor": Role(inherits=["viewer"], grants=["tasks:write"]),
        "admin": Role(inherits=["editor"], grants=["audit:read"]),
    }
)


_warned: list[bool] = []  # the development secret's warning, once per process (the verifier and the issuer read it)


def secret() -> str:
    """The HS256 secret: the environment's, or the development one (with a warning)."""
    configured = os.environ.get("BACKENDKIT_EXAMPLE_JWT_SECRET")
    if configured:
        return configured
    if not _warned:
        _warned.append(True)
        logging.getLogger("examples").warning(
            "BACKENDKIT_EXAMPLE_JWT_SECRET is not set: using the example's development secret (never deploy it)"
        )
    return DEV_JWT_SECRET


def revocations(*, asynchronous: bool) -> Revocations | AsyncRevocations:
    """The revocation list: in Redis (async for ASGI apps, sync for WSGI and Django's sync views), or in memory."""
    url = _redis.url()
    if not url:
        return MemoryRevocations()  # one process's
    from backendkit.auth.redis import AsyncRedisRevocations, RedisRevocations

    return AsyncRedisRevocations.from_url(url) if asynchronous else RedisRevocations.from_url(url)


def verifier(*, asynchronous: bool = False, revoked: Revocations | AsyncRevocations | None = None) -> JWTVerifier:
    """A verifier for one app, with its revocation list: ``revoked``, or one of its own (see :func:`revocations`).

    The app's :class:`~backendkit.auth.TokenIssuer` revokes a family's access tokens in the same list
    (``examples/_sessions.py``).
    """
    jwks = None
    url = os.environ.get("BACKENDKIT_EXAMPLE_JWKS_URL")
    if url:
        from backendkit.auth.jwks import JWKSClient

        jwks = JWKSClient(url)
    return JWTVerifier(
        [HMACKey(secret())],
        jwks=jwks,
        issuer=ISSUER,
        audience=AUDIENCE,
        roles=ROLES,
        revocations=revoked if revoked is not None else revocations(asynchronous=asynchronous),
    )
