"""Settings read once from ``settings.BACKENDKIT``, re-read when a test overrides them."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.django._translations import translations
from backendkit.errors import RENDERERS, ConfigurationError
from backendkit.http import HttpSemantics


def _resolve_dotted(config: dict[str, Any]) -> dict[str, Any]:
    # Django settings name callables by dotted path; the core takes objects.
    out = dict(config)
    fmt = out.get("ERROR_FORMAT")
    if isinstance(fmt, str) and fmt not in RENDERERS and "." in fmt:
        out["ERROR_FORMAT"] = import_string(fmt)
    if isinstance(out.get("REGISTRY"), str):
        out["REGISTRY"] = import_string(out["REGISTRY"])
    limits = out.get("RATE_LIMITS")
    if isinstance(limits, str) and "." in limits and "/" not in limits and " " not in limits:
        out["RATE_LIMITS"] = import_string(limits)  # a dotted path (a rate such as "5/minute" is refused later)
    for name in ("AUTH", "IDEMPOTENCY", "CORS", "SECURITY_HEADERS", "CONDITIONAL_REQUESTS", "VERSIONING"):
        if isinstance(out.get(name), str):
            try:
                out[name] = import_string(out[name])
            except ImportError as exc:
                raise ImportError(f"{name}: {exc}") from exc
    return out


@cache
def get_state() -> AdapterState:
    """The adapter's state, built from ``settings.BACKENDKIT`` on first use."""
    config = getattr(django_settings, "BACKENDKIT", {})
    if not isinstance(config, dict):
        raise ImproperlyConfigured("settings.BACKENDKIT must be a dict")
    try:
        return AdapterState(Settings.from_mapping(_resolve_dotted(config)), (translations(),))
    except (ConfigurationError, ImportError) as exc:
        raise ImproperlyConfigured(f"settings.BACKENDKIT: {exc}") from exc


@cache
def get_semantics() -> HttpSemantics:
    """The conditional layer and API versions (``CONDITIONAL_REQUESTS``, ``VERSIONING``), built on first use."""
    settings = get_state().settings
    try:
        return HttpSemantics.from_settings(settings.conditional_requests, settings.versioning)
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"settings.BACKENDKIT: {exc}") from exc


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "BACKENDKIT":
        get_state.cache_clear()
        get_semantics.cache_clear()


setting_changed.connect(_reset)
