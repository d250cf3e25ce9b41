"""A setting given as a mapping of a class's arguments (Django's dicts, Flask's config): one way to read it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from backendkit.errors import ConfigurationError

T = TypeVar("T")


def built(cls: type[T], arguments: Mapping[Any, Any], setting: str) -> T:
    """``cls(**arguments)``, the keys lower-cased (``ALLOW_ORIGINS`` as ``allow_origins``).

    Raises:
        ConfigurationError: An unknown or missing argument, named with the setting.
    """
    try:
        return cls(**{str(key).lower(): value for key, value in arguments.items()})
    except TypeError as exc:
        raise ConfigurationError(f"{setting}: {exc}") from exc
