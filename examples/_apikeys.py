"""API keys in every example, beside the tokens: ``X-API-Key: bk_live_...`` on ``/me`` and the guarded routes.

``BACKENDKIT_EXAMPLE_APIKEYS_URL`` names the key store: a SQLAlchemy URL
(``sqlite:///keys.db``, ``postgresql+psycopg://...``; the table is created when
missing) or a Redis URL (``redis://127.0.0.1:6379/0``). Unset, API keys are off.
Keys are made, listed, rotated and revoked with the command line, which prints a
new key once, as its last line::

    python -m backendkit.apikeys --store sqlite:///keys.db create --owner deploy-bot --roles editor

A key authenticates as its owner with its roles (``examples/_auth.py``'s), sent as
``X-API-Key`` or as ``Authorization: Bearer``; both headers at once is a 400. The
examples are a live deployment: they take ``bk_live_`` keys only (a ``bk_test_`` key is
refused like any unknown one). A revocation made elsewhere is seen within 5 seconds
(the verifier's cache). When the keys were made with a pepper, the examples read it
where the command line does, ``BACKENDKIT_APIKEYS_PEPPER``.
"""

from __future__ import annotations

import os

from backendkit.apikeys import APIKeyVerifier, store_from_url
from examples import _auth

PREFIX = "bk_live_"
"""The prefix of the keys the examples take (the command line's default)."""
PEPPER_ENV = "BACKENDKIT_APIKEYS_PEPPER"
"""Where the command line reads the pepper the key digests are keyed with; the examples read it there too."""


def url() -> str | None:
    """``BACKENDKIT_EXAMPLE_APIKEYS_URL``, or ``None`` (API keys off)."""
    return os.environ.get("BACKENDKIT_EXAMPLE_APIKEYS_URL") or None


def verifier() -> APIKeyVerifier | None:
    """The API key verifier of the store ``BACKENDKIT_EXAMPLE_APIKEYS_URL`` names, or ``None``."""
    where = url()
    if where is None:
        return None
    pepper = os.environ.get(PEPPER_ENV) or None
    return APIKeyVerifier(store_from_url(where), prefixes=PREFIX, pepper=pepper, roles=_auth.ROLES)
