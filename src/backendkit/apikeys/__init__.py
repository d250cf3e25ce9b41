"""API keys: a recognisable format with a checksum, digests only at rest, rotation with a grace period.

A key reads ``bk_live_<id>_<secret><check>``: a prefix a person and a secret
scanner recognise, a public id the store looks it up by, 256 bits of secret, and
6 check digits that refuse a mistyped or truncated key before any store is asked.
Only a digest of the key is stored (SHA-256, or HMAC-SHA-256 under a pepper);
the secret is shown once, when the key is made.

:class:`APIKeys` makes, lists, rotates and revokes keys; :class:`APIKeyVerifier`
checks them on the request path, from a bounded cache in front of the store, and
makes the same :class:`~backendkit.auth.Principal` a token does: the RBAC guards,
``by_user`` limits and the access log's ``user_id`` work unchanged. Stores:
:class:`MemoryKeyStore`, ``RedisKeyStore`` (``backendkit.apikeys.redis``),
``SQLKeyStore`` (``backendkit.apikeys.sqlalchemy``), and the Django model
(``backendkit.django.credentials``). ``python -m backendkit.apikeys`` is the
command line.

Example:
    >>> keys = APIKeys(MemoryKeyStore(), prefix="bk_test_")
    >>> made = keys.create("deploy-bot", roles=["deployer"])
    >>> verifier = keys.verifier()
    >>> verifier.verify(made.key).subject
    'deploy-bot'
    >>> keys.revoke(made.record.id)
    True
    >>> verifier.verify(made.key)
    Traceback (most recent call last):
    ...
    backendkit.auth._core.errors.InvalidToken: The access token is invalid or has expired.
"""

from __future__ import annotations

from backendkit.apikeys._core.check import CREDENTIAL
from backendkit.apikeys._core.record import LAST_USED_EVERY, KeyIdTaken, KeyRecord, RotationRefused, rotation_refused
from backendkit.apikeys._keys import DEFAULT_GRACE, APIKeys, NewKey
from backendkit.apikeys._stores.memory import KeyStore, MemoryKeyStore
from backendkit.apikeys._url import store_from_url
from backendkit.apikeys._verifier import DEFAULT_CACHE_TTL, DEFAULT_PREFIXES, APIKeyVerifier

__all__ = [
    "CREDENTIAL",
    "DEFAULT_CACHE_TTL",
    "DEFAULT_GRACE",
    "DEFAULT_PREFIXES",
    "LAST_USED_EVERY",
    "APIKeyVerifier",
    "APIKeys",
    "KeyIdTaken",
    "KeyRecord",
    "KeyStore",
    "MemoryKeyStore",
    "NewKey",
    "RotationRefused",
    "rotation_refused",
    "store_from_url",
]
