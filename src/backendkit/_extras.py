"""Optional-dependency guard shared by every integration module."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """An integration was imported without the optional dependency it needs.

    The message names the extra to install, for example
    ``pip install "backendkit[flask]"``.
    """

    def __init__(self, *, extra: str, module: str, missing: str) -> None:
        self.extra = extra
        self.missing = missing
        super().__init__(
            f"{module} needs the {missing!r} package, which is not installed; "
            f'install it with: pip install "backendkit[{extra}]"',
            name=missing,
        )


def require(missing: str, *, extra: str, module: str) -> ModuleType:
    """Import ``missing`` or raise :class:`MissingExtraError` naming ``extra``."""
    try:
        return importlib.import_module(missing)
    except ImportError as exc:
        raise MissingExtraError(extra=extra, module=module, missing=missing) from exc
