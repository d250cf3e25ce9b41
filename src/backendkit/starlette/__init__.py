"""Starlette adapter: one call installs request ids and the error envelope.

Example:
    >>> from starlette.applications import Starlette
    >>> from backendkit.starlette import install
    >>> app = Starlette()
    >>> install(app, error_format="problem")
"""

from __future__ import annotations

from backendkit._extras import require

require("starlette", extra="fastapi", module="backendkit.starlette")

from backendkit.starlette._install import install, translations  # noqa: E402

__all__ = ["install", "translations"]
