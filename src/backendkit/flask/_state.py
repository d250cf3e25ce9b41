"""Per-app state of the extension: where it lives, and how the other Flask modules find it.

Flask builds nothing backendkit could check before the first request when the
extension is missing (it has no start-up hook, and views are added after
``init_app``). So a decorator that finds no extension does not fail the request:
its refusal is sent as the default settings render it (the envelope), and the
missing piece is logged once per application, at ERROR, naming the fix.
"""

from __future__ import annotations

import functools
import logging
from typing import NoReturn

from flask import Flask, abort, current_app, request

from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.errors import APIError, ConfigurationError, ErrorHandler

EXTENSION = "backendkit"  # the key of the state in app.extensions
_WARNED = "backendkit.missing"  # the missing pieces already logged, per app
logger = logging.getLogger("backendkit.errors")


def install_state(app: Flask, state: AdapterState) -> None:
    """Keep ``state`` on ``app`` (once: a second installation is an error)."""
    if EXTENSION in app.extensions:
        raise RuntimeError("backendkit is already installed on this application")
    app.extensions[EXTENSION] = state


def state_of(app: Flask, *, needed_by: str = "this") -> AdapterState:
    """The extension's state on ``app``; a ConfigurationError naming what needed it when it is missing."""
    state: AdapterState | None = app.extensions.get(EXTENSION)
    if state is None:
        raise ConfigurationError(f"{needed_by} needs the BackendKit extension on the app")
    return state


def has_extension(app: Flask) -> bool:
    """Whether the BackendKit extension is on ``app``."""
    return EXTENSION in app.extensions


def report_missing(app: Flask, what: str) -> None:
    """Log, once per application and ``what``, that a piece of backendkit is missing from it."""
    warned: set[str] = app.extensions.setdefault(_WARNED, set())
    if what not in warned:
        warned.add(what)
        logger.error("%s (a configuration error; this request and the next are answered without it)", what)


def refuse(error: APIError) -> NoReturn:
    """Raise ``error`` for the extension to render; without it, send it as the default settings render it."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if has_extension(app):
        raise error
    report_missing(app, "the BackendKit extension is not on this app: BackendKit(app), or init_app(app)")
    rendered = _default_errors().render(error, request_id=None, instance=request.path)
    abort(app.response_class(rendered.body, status=rendered.status, headers=list(rendered.headers)))


@functools.cache
def _default_errors() -> ErrorHandler:
    return Settings().error_handler()
