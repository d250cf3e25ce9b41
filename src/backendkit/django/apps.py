"""The Django app configuration: registers the set-up checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class BackendKitConfig(AppConfig):
    """``backendkit.django`` in ``INSTALLED_APPS``."""

    name = "backendkit.django"
    label = "backendkit"
    verbose_name = "backendkit"

    def ready(self) -> None:
        from backendkit.django._checks import check_guarded_views, check_settings_are_read, check_setup

        checks.register(check_setup)
        checks.register(check_settings_are_read)
        checks.register(check_guarded_views)


__all__ = ["BackendKitConfig"]
