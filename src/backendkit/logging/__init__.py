"""JSON logging with request context and redaction, for stdlib logging and structlog.

Example:
    >>> from backendkit.logging import configure_logging
    >>> formatter = configure_logging("INFO", profile="ecs", structlog=False)

Or with ``logging.config.dictConfig``::

    "formatters": {"json": {"()": "backendkit.logging.JSONFormatter", "profile": "gcp"}}
"""

from __future__ import annotations

from backendkit.logging._configure import configure_logging, to_stdlib
from backendkit.logging._formatter import JSONFormatter
from backendkit.logging._profiles import PROFILES, Event, Profile, render
from backendkit.logging._redact import DEFAULT_KEYS, Redactor
from backendkit.logging._scrub import REDACTED

__all__ = [
    "DEFAULT_KEYS",
    "PROFILES",
    "REDACTED",
    "Event",
    "JSONFormatter",
    "Profile",
    "Redactor",
    "configure_logging",
    "render",
    "to_stdlib",
]
