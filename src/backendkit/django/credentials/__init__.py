"""API keys and refresh tokens in the Django database: models, stores, admin, ``manage.py apikeys``.

Set-up::

    INSTALLED_APPS = [..., "backendkit.django", "backendkit.django.credentials"]
    BACKENDKIT_API_KEYS = "myproject.auth.api_keys"       # optional: the prefix and pepper keys are made with
    BACKENDKIT_TOKEN_ISSUER = "myproject.auth.issuer"     # optional: the admin's logout revokes access tokens too

then ``python manage.py migrate``. In ``myproject/auth.py``::

    from backendkit.apikeys import APIKeys
    from backendkit.auth import BearerAuth, HMACKey, JWTVerifier, TokenIssuer
    from backendkit.django.credentials import DjangoKeyStore, DjangoRefreshStore

    api_keys = APIKeys(DjangoKeyStore(), prefix="bk_live_", pepper=os.environ["API_KEY_PEPPER"])
    issuer = TokenIssuer(KEY, refresh_store=DjangoRefreshStore(), revocations=REVOCATIONS)
    auth = BearerAuth(JWTVerifier([KEY], revocations=REVOCATIONS), api_keys=api_keys.verifier())

and ``BACKENDKIT = {"AUTH": "myproject.auth.auth"}``. Keys are made in the admin (the
key is shown once, in the message after "Save") or with ``python manage.py apikeys create
--owner NAME``, which prints it as its last line; only a digest is stored.

The stores run the ORM synchronously; the async shells (``averify``, ``arefresh``) call
them in a worker thread, as any sync store.
"""

from __future__ import annotations

from backendkit.django.credentials._config import get_api_keys, get_token_issuer
from backendkit.django.credentials.stores import DjangoKeyStore, DjangoRefreshStore

__all__ = ["DjangoKeyStore", "DjangoRefreshStore", "get_api_keys", "get_token_issuer"]
