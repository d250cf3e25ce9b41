"""Request context on contextvars: the current request's id, for application code and logs.

The adapters set it at the start of each request and reset it at the end, so a
value never leaks from one request to the next, across threads or asyncio tasks.

Example:
    >>> from backendkit.context import get_request_id
    >>> get_request_id() is None   # outside a request
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
"""The default header that carries the request id, in and out."""

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

request_id_var: ContextVar[str | None] = ContextVar("backendkit.request_id", default=None)
"""The contextvar behind :func:`get_request_id`; adapters set and reset it."""


def get_request_id() -> str | None:
    """The id of the request being handled, or ``None`` outside a request."""
    return request_id_var.get()


def is_valid_request_id(value: str) -> bool:
    """Whether an incoming id may be kept: 1-128 characters of ``[A-Za-z0-9._-]``."""
    return _VALID_REQUEST_ID.fullmatch(value) is not None


def choose_request_id(incoming: str | None, *, trust_incoming: bool, generate: Callable[[], str]) -> str:
    """Keep a valid incoming id (when trusted), or make a fresh one with ``generate``."""
    if trust_incoming and incoming is not None and is_valid_request_id(incoming):
        return incoming
    return generate()


__all__ = [
    "REQUEST_ID_HEADER",
    "choose_request_id",
    "get_request_id",
    "is_valid_request_id",
    "request_id_var",
]
