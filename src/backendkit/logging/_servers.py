"""Logging configurations for the servers that run the apps: uvicorn, gunicorn, and any ``dictConfig``.

Each function returns a plain ``logging.config.dictConfig`` dict (JSON types only, so
``python -m backendkit.logging`` can write it to a file for a server's command line):
backendkit's JSON handler on the root logger, and the server's own loggers routed to it,
so the server's lines (start-up, worker boot and exit, errors with their tracebacks) are
JSON lines too. The server's access log is off: backendkit writes one access line per
request, inside the request (request id, route, user, query redacted); the server's line
would be a second one without them.

The handler is named ``backendkit``, as the one :func:`configure_logging` installs: an app
that calls ``configure_logging()`` under a server configured with one of these replaces the
handler instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from backendkit.logging._configure import HANDLER_NAME

FORMATTER = "backendkit.logging.JSONFormatter"


def dict_config(
    level: int | str = "INFO",
    *,
    profile: str = "default",
    stream: str = "ext://sys.stderr",
    redact: bool = True,
    extra_redact_keys: Iterable[str] = (),
    allow_keys: Iterable[str] = (),
    json: Literal["auto", "orjson", "stdlib"] = "auto",
    gcp_project: str | None = None,
    static_fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``dictConfig`` dict that sends every logger to one JSON handler on the root logger.

    What :func:`configure_logging` does, as data: for ``logging.config.dictConfig``, a
    Django ``LOGGING`` setting, or a server that reads a file (waitress, which logs on the
    ``waitress`` logger, needs nothing more). The keyword arguments are the
    :class:`JSONFormatter`'s; only those that differ from its defaults are written.

    Args:
        level: The root logger's level.
        profile: ``"default"``, ``"ecs"``, ``"gcp"`` or ``"otel"``.
        stream: Where lines go, as ``dictConfig`` names an object: ``"ext://sys.stderr"``
            (the default) or ``"ext://sys.stdout"``.
        redact: Redact secrets (on by default).
        extra_redact_keys: More key fragments to redact.
        allow_keys: Exact keys never redacted.
        json: The JSON encoder, ``"auto"`` picks orjson when installed.
        gcp_project: The project id for trace links in the gcp profile.
        static_fields: Fields added to every line.

    Returns:
        A new dict, yours to change.

    Examples:
        >>> config = dict_config("WARNING", profile="ecs")
        >>> config["root"], config["formatters"]["json"]["profile"]
        ({'level': 'WARNING', 'handlers': ['backendkit']}, 'ecs')
    """
    formatter: dict[str, Any] = {"()": FORMATTER, "profile": profile}
    if not redact:
        formatter["redact"] = False
    if extra_redact_keys:
        formatter["extra_redact_keys"] = list(extra_redact_keys)
    if allow_keys:
        formatter["allow_keys"] = list(allow_keys)
    if json != "auto":
        formatter["json"] = json
    if gcp_project is not None:
        formatter["gcp_project"] = gcp_project
    if static_fields:
        formatter["static_fields"] = dict(static_fields)
    return {
        "version": 1,
        "disable_existing_loggers": False,  # loggers made before (backendkit's among them) keep logging
        "formatters": {"json": formatter},
        "handlers": {HANDLER_NAME: {"class": "logging.StreamHandler", "formatter": "json", "stream": stream}},
        "root": {"level": _level(level), "handlers": [HANDLER_NAME]},
    }


def uvicorn_log_config(level: int | str = "INFO", **formatter: Any) -> dict[str, Any]:
    """uvicorn's ``log_config``: its lines as JSON through backendkit's handler, its access log off.

    ``uvicorn.run(app, log_config=uvicorn_log_config())``, or on the command line
    ``uvicorn app:app --workers 2 --log-config log.json`` with the file that
    ``python -m backendkit.logging uvicorn > log.json`` writes. uvicorn applies it in
    every process it starts (the supervisor and each worker), before it imports the app.
    ``uvicorn.error`` (start-up, shutdown, errors with their tracebacks) goes to the
    root's handler; ``uvicorn.access`` has no handler and does not propagate, so uvicorn
    does not even build its access line. ``--log-level`` still sets uvicorn's loggers'
    level.

    Args:
        level: The root logger's level.
        **formatter: The options of :func:`dict_config` (``profile``, ``static_fields``...).

    Examples:
        >>> uvicorn_log_config()["loggers"]["uvicorn.access"]
        {'handlers': [], 'propagate': False}
    """
    config = dict_config(level, **formatter)
    config["loggers"] = {
        "uvicorn": {"handlers": [], "propagate": True},
        "uvicorn.error": {"handlers": [], "propagate": True},
        "uvicorn.access": {"handlers": [], "propagate": False},  # backendkit writes the access line
    }
    return config


def gunicorn_logconfig_dict(level: int | str = "INFO", **formatter: Any) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its lines as JSON through backendkit's handler, its access log off.

    In a gunicorn configuration file (``gunicorn -c gunicorn_conf.py app:app``)::

        from backendkit.logging import gunicorn_logconfig_dict

        logconfig_dict = gunicorn_logconfig_dict("INFO")

    or as a file, ``python -m backendkit.logging gunicorn > log.json`` and
    ``gunicorn --log-config-json log.json``. The master applies it before it forks,
    so every worker starts with it. ``gunicorn.error`` (boot, worker start and exit,
    errors with their tracebacks) gets the JSON handler itself, not through the root:
    uvicorn's gunicorn worker (``uvicorn.workers.UvicornWorker``, or the
    ``uvicorn-worker`` package's) copies that logger's handlers onto ``uvicorn.error``.
    ``gunicorn.access`` has no handler and does not propagate: no second access line,
    and the uvicorn worker, which copies that too, does not build one either. Its
    level is left alone, so ``--log-level`` still sets it.

    Args:
        level: The root logger's level.
        **formatter: The options of :func:`dict_config` (``profile``, ``static_fields``...).

    Examples:
        >>> gunicorn_logconfig_dict()["loggers"]["gunicorn.error"]
        {'handlers': ['backendkit'], 'propagate': False}
    """
    config = dict_config(level, **formatter)
    config["loggers"] = {
        "gunicorn.error": {"handlers": [HANDLER_NAME], "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},  # backendkit writes the access line
    }
    return config


def _level(level: int | str) -> int | str:
    # dictConfig takes a level's name or number; names are upper case.
    return level.upper() if isinstance(level, str) else level


__all__ = ["dict_config", "gunicorn_logconfig_dict", "uvicorn_log_config"]
