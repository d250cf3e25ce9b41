"""The response-header channel: headers decided before the response they belong on exists.

A rate-limit check (and an authentication challenge) runs before the view, but
the response is made later, by the view or by the error handling. Such headers
are queued on the request, under one key, in the mapping every framework keeps
per request (the ASGI scope, the WSGI environ, Django's ``request.META``), and
the adapter's outermost hook adds them to whatever response goes out, by one
rule: a field already present gets the new value appended after ", " (the list
syntax of RFC 9110, section 5.3), so two limits share one ``RateLimit`` line.

Pure: no framework, no I/O. Each adapter gives :func:`add_headers` its
response's headers through the methods of :class:`HeaderTarget`, which
Django's ``HttpResponse`` and werkzeug's ``Headers`` have already.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any, Protocol

CHANNEL = "backendkit.response_headers"
"""The key of the queued ``(name, value)`` pairs in the request's scope, environ or ``META``."""

Header = tuple[str, str]


class HeaderTarget(Protocol):
    """A response's headers, as :func:`add_headers` reads and writes them."""

    def get(self, name: str) -> str | None:
        """The field's value, its lines joined with ", ", or ``None``."""
        ...

    def __setitem__(self, name: str, value: str) -> None:
        """Set the field to ``value`` (replacing its lines)."""
        ...

    def setdefault(self, name: str, value: str, /) -> object:
        """Set the field to ``value`` unless the response has it already (one look, not a ``get`` and a set)."""
        ...


def open_channel(carrier: MutableMapping[str, Any]) -> list[Header]:
    """Start the request's channel (the outermost hook does, once); returns its queue."""
    queued: list[Header] = []
    carrier[CHANNEL] = queued
    return queued


def channel(carrier: MutableMapping[str, Any]) -> list[Header] | None:
    """The request's queue, or ``None`` when no backendkit adapter opened one (it is not installed)."""
    queued: list[Header] | None = carrier.get(CHANNEL)
    return queued


def close_channel(carrier: MutableMapping[str, Any]) -> list[Header]:
    """Take the queued headers out (the hook that adds them to the response does)."""
    queued: list[Header] = carrier.pop(CHANNEL, None) or []
    return queued


def add_headers(target: HeaderTarget, headers: Iterable[Header]) -> None:
    """Add ``headers`` to a response's; a field already present gets its values joined with ", "."""
    for name, value in headers:
        present = target.get(name)
        target[name] = f"{present}, {value}" if present else value
