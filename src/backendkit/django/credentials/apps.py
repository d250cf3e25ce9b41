"""The app configuration of ``backendkit.django.credentials``: its label, and the check of its settings."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class CredentialsConfig(AppConfig):
    """``"backendkit.django.credentials"`` in ``INSTALLED_APPS``: API keys and refresh tokens in the database."""

    name = "backendkit.django.credentials"
    label = "backendkit_credentials"
    verbose_name = "API keys and refresh tokens"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backendkit.django.credentials._config import check_settings

        checks.register(check_settings)


__all__ = ["CredentialsConfig"]
