"""JSON logging with request context and redaction, for stdlib logging and structlog.

Example:
    >>> from backendkit.logging import configure_logging
    >>> formatter = configure_logging("INFO", profile="ecs", structlog=False)

Or with ``logging.config.dictConfig``::

    "formatters": {"json": {"()": "backendkit.logging.JSONFormatter", "profile": "gcp"}}

Or, for the servers, their own settings: ``uvicorn.run(app, log_config=uvicorn_log_config())``,
``logconfig_dict = gunicorn_logconfig_dict()`` in a gunicorn configuration file, and
``python -m backendkit.logging uvicorn > log.json`` for ``uvicorn --log-config log.json``.
"""

from __future__ import annotations

from backendkit.logging._configure import configure_logging, to_stdlib
from backendkit.logging._core.profiles import PROFILES, Event, Profile, render
from backendkit.logging._core.redact import DEFAULT_KEYS, Redactor
from backendkit.logging._core.scrub import REDACTED
from backendkit.logging._formatter import JSONFormatter
from backendkit.logging._servers import dict_config, gunicorn_logconfig_dict, uvicorn_log_config

__all__ = [
    "DEFAULT_KEYS",
    "PROFILES",
    "REDACTED",
    "Event",
    "JSONFormatter",
    "Profile",
    "Redactor",
    "configure_logging",
    "dict_config",
    "gunicorn_logconfig_dict",
    "render",
    "to_stdlib",
    "uvicorn_log_config",
]
