"""FastAPI adapter: request ids, the error envelope, and OpenAPI that documents it.

Example:
    >>> from fastapi import FastAPI
    >>> from backendkit.fastapi import install
    >>> app = FastAPI()
    >>> install(app)
"""

from __future__ import annotations

from backendkit._extras import require

require("fastapi", extra="fastapi", module="backendkit.fastapi")

from backendkit.fastapi._install import error_responses, install  # noqa: E402

__all__ = ["error_responses", "install"]
