"""What the adapters share beyond the pure core: fresh ids and the log of unhandled errors.

This is the only place in the error path that touches the outside world (the
OS random source and the logging system); the core stays pure.
"""

from __future__ import annotations

import logging
import os

from backendkit.errors import HandledError

error_logger = logging.getLogger("backendkit.errors")


def new_request_id() -> str:
    """A fresh request id: 32 hex characters (128 random bits)."""
    return os.urandom(16).hex()


def log_unhandled(exc: BaseException, handled: HandledError, *, request_id: str | None, method: str, path: str) -> None:
    """Log an exception that nothing mapped, with its traceback and the request id."""
    if handled.mapper_error is not None:
        error_logger.error(
            "An exception mapper failed on %s (request_id=%s)",
            type(exc).__name__,
            request_id,
            exc_info=handled.mapper_error,
            extra={"request_id": request_id, "http_method": method, "http_path": path},
        )
    if not handled.unhandled:
        return
    error_logger.error(
        "Unhandled %s while handling %s %s (request_id=%s)",
        type(exc).__name__,
        method,
        path,
        request_id,
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"request_id": request_id, "http_method": method, "http_path": path},
    )
