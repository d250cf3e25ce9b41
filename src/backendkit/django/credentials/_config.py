"""The app's two settings, read once (again when a test overrides them), and their system check.

``BACKENDKIT_API_KEYS``: the :class:`~backendkit.apikeys.APIKeys` (or a dotted path to it) the
admin and ``manage.py apikeys`` make keys with: its prefix and pepper must be the verifier's.
Unset, keys are made with ``APIKeys(DjangoKeyStore())``: prefix ``bk_live_``, no pepper.

``BACKENDKIT_TOKEN_ISSUER``: the :class:`~backendkit.auth.TokenIssuer` (or a dotted path) whose
refresh tokens the families are; the admin's "revoke" logs out through it, so the family's
access tokens are revoked in its revocation list too. Unset, the admin revokes the family alone
(its access tokens run out within their lifetime).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from backendkit.apikeys import APIKeys
from backendkit.auth import TokenIssuer
from backendkit.django.credentials.stores import DjangoKeyStore, DjangoRefreshStore

API_KEYS_SETTING = "BACKENDKIT_API_KEYS"
TOKEN_ISSUER_SETTING = "BACKENDKIT_TOKEN_ISSUER"  # noqa: S105  (a setting's name, not a secret)


def _setting(name: str) -> Any:
    value = getattr(settings, name, None)
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(f"settings.{name}: {exc}") from exc
    return value


@cache
def get_api_keys() -> APIKeys:
    """The :class:`~backendkit.apikeys.APIKeys` of ``settings.BACKENDKIT_API_KEYS`` (keys in this database)."""
    value = _setting(API_KEYS_SETTING)
    if value is None:
        return APIKeys(DjangoKeyStore())
    if not isinstance(value, APIKeys) or not isinstance(value.store, DjangoKeyStore):
        raise ImproperlyConfigured(
            f"settings.{API_KEYS_SETTING} is an APIKeys over a DjangoKeyStore (or a dotted path to one), not {value!r}"
        )
    return value


@cache
def get_token_issuer() -> TokenIssuer | None:
    """The :class:`~backendkit.auth.TokenIssuer` of ``settings.BACKENDKIT_TOKEN_ISSUER``, or ``None``."""
    value = _setting(TOKEN_ISSUER_SETTING)
    if value is None:
        return None
    if (
        not isinstance(value, TokenIssuer)
        or value.rotator is None
        or not isinstance(value.rotator.store, DjangoRefreshStore)
    ):
        raise ImproperlyConfigured(
            f"settings.{TOKEN_ISSUER_SETTING} is a TokenIssuer with refresh_store=DjangoRefreshStore() "
            f"(or a dotted path to one), not {value!r}"
        )
    return value


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E001: ``BACKENDKIT_API_KEYS`` is not usable; E002: ``BACKENDKIT_TOKEN_ISSUER`` is not."""
    messages: list[CheckMessage] = []
    for read, code in ((get_api_keys, "E001"), (get_token_issuer, "E002")):
        try:
            read()
        except ImproperlyConfigured as exc:
            messages.append(Error(str(exc), id=f"backendkit_credentials.{code}"))
    return messages


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == API_KEYS_SETTING:
        get_api_keys.cache_clear()
    elif setting == TOKEN_ISSUER_SETTING:
        get_token_issuer.cache_clear()


setting_changed.connect(_reset)

__all__ = ["API_KEYS_SETTING", "TOKEN_ISSUER_SETTING", "check_settings", "get_api_keys", "get_token_issuer"]
