"""The examples with a JWKS client whose fetch may take ``TIMEOUT`` seconds, for the hanging-JWKS tests.

gunicorn imports its app by name in another process: ``tests.auth.hang_apps:flask_app()``
is the Flask example built with that client (the URL from ``BACKENDKIT_EXAMPLE_JWKS_URL``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from backendkit.auth import jwks

TIMEOUT = 3.0
"""Seconds a JWKS fetch may take: the bound a request that needs it waits at most."""

T = TypeVar("T")


@contextmanager
def slow_jwks_clients() -> Iterator[None]:
    """While open, the examples build the library's ``JWKSClient`` with ``timeout=TIMEOUT``."""
    original = jwks.JWKSClient
    jwks.JWKSClient = functools.partial(original, timeout=TIMEOUT)  # type: ignore[misc]
    try:
        yield
    finally:
        jwks.JWKSClient = original  # type: ignore[misc]


def built(factory: Callable[[], T]) -> T:
    with slow_jwks_clients():
        return factory()


def flask_app() -> Any:
    from examples.flask_app import create_app

    return built(create_app)
