"""Per-app state of the extension: where it lives, and how the other Flask modules find it."""

from __future__ import annotations

from flask import Flask

from backendkit._runtime import AdapterState
from backendkit.errors import ConfigurationError

EXTENSION = "backendkit"  # the key of the state in app.extensions


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
