"""The two settings of this piece, read the same way on every adapter.

``CONDITIONAL_REQUESTS``: ``None``/``False`` (off, the default), ``True`` (on, with
:class:`ConditionalRequests`' defaults), a :class:`ConditionalRequests` or a mapping of its
arguments. ``VERSIONING``: ``None`` (off), a :class:`Versioning` or a mapping of its arguments.
A Django dotted path is resolved by the Django adapter before it gets here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backendkit.errors import ConfigurationError
from backendkit.http._core.revalidate import ConditionalRequests
from backendkit.http._core.versions import Versioning


def conditional_setting(value: Any) -> ConditionalRequests | None:
    """The conditional layer's setting, or None when it is off."""
    if value is None or value is False:
        return None
    if value is True:
        return ConditionalRequests()
    if isinstance(value, ConditionalRequests):
        return value
    if isinstance(value, Mapping):
        try:
            return ConditionalRequests(**{str(k).lower(): v for k, v in value.items()})
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"CONDITIONAL_REQUESTS: {exc}") from exc
    raise ConfigurationError(f"CONDITIONAL_REQUESTS must be True, a ConditionalRequests or a mapping, not {value!r}")


def versioning_setting(value: Any) -> Versioning | None:
    """The versioning setting, or None when there is none."""
    if value is None:
        return None
    if isinstance(value, Versioning):
        return value
    if isinstance(value, Mapping):
        try:
            return Versioning(**{str(k).lower(): v for k, v in value.items()})
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"VERSIONING: {exc}") from exc
    raise ConfigurationError(f"VERSIONING must be a Versioning or a mapping, not {value!r}")
