"""What the adapters share beyond the pure core: per-app state, fresh ids, the log of bugs.

This is the only place in the error path that touches the outside world (the OS
random source and the logging system); the core stays pure, and each adapter
keeps to translating between its framework and this module.
"""

from __future__ import annotations

import logging
import os
from contextvars import Token

from backendkit._settings import Settings
from backendkit.context import choose_request_id, request_id_var
from backendkit.errors import APIError, ErrorHandler, ErrorResponse, ExceptionRegistry, HandledError

error_logger = logging.getLogger("backendkit.errors")


def new_request_id() -> str:
    """A fresh request id: 32 hex characters (128 random bits)."""
    return os.urandom(16).hex()


def environ_key(header: str) -> str:
    """The WSGI environ (and Django ``META``) key of a request header."""
    return "HTTP_" + header.upper().replace("-", "_")


class AdapterState:
    """One application's error handling, as every adapter keeps it.

    Args:
        settings: The validated settings.
        translations: The framework's own exceptions as API errors.
    """

    def __init__(self, settings: Settings, translations: tuple[ExceptionRegistry, ...] = ()) -> None:
        self.settings = settings
        self.handler: ErrorHandler = settings.error_handler()
        self.translations = translations
        self.header = settings.request_id_header
        self.environ_key = environ_key(self.header)

    def start_request(self, incoming: str | None) -> tuple[str, Token[str | None]]:
        """Choose the request's id and bind it; reset the token when the request ends.

        ``incoming`` is the header's value, several values joined with ``","`` (as
        WSGI servers pass them); such a joined value is never valid, so a request
        with two ids gets a fresh one on every framework.
        """
        request_id = choose_request_id(incoming, trust_incoming=self.settings.trust_request_id, generate=new_request_id)
        return request_id, request_id_var.set(request_id)

    def handle(self, exc: BaseException, *, method: str, path: str) -> HandledError:
        """Map and render ``exc`` for the current request, logging it if it is a bug."""
        request_id = request_id_var.get()
        handled = self.handler.handle(exc, request_id=request_id, instance=path, fallbacks=self.translations)
        log_unhandled(exc, handled, request_id=request_id, method=method, path=path)
        return handled

    def render(self, error: APIError, *, path: str) -> ErrorResponse:
        """Render an API error that is already known (no logging: it is not a bug)."""
        return self.handler.render(error, request_id=request_id_var.get(), instance=path)


def log_unhandled(exc: BaseException, handled: HandledError, *, request_id: str | None, method: str, path: str) -> None:
    """Log an exception that nothing mapped, with its traceback and the request id."""
    extra = {"request_id": request_id, "http_method": method, "http_path": path}
    if handled.mapper_error is not None:
        error_logger.error(
            "An exception mapper or renderer failed on %s (request_id=%s)",
            type(exc).__name__,
            request_id,
            exc_info=handled.mapper_error,
            extra=extra,
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
        extra=extra,
    )
