"""Field profiles: one log event, four sets of field names. Pure: data in, dict out.

Every profile writes the same information; only names and a few shapes differ:

- default: ``timestamp``, ``level`` (lower case), ``logger``, ``message``, ``request_id``,
  ``trace_id``, ``span_id``, ``exception`` {type, message, stack};
- ecs: ``@timestamp``, ``log.level``, ``log.logger``, ``message``, ``http.request.id``,
  ``trace.id``, ``span.id``, ``error.type`` / ``error.message`` / ``error.stack_trace``;
- gcp: ``time``, ``severity`` (upper case), ``message``, ``logging.googleapis.com/trace``,
  ``logging.googleapis.com/spanId``, ``exception`` {type, message} and ``stack_trace``;
- otel: ``timestamp``, ``severity_text``, ``severity_number``, ``body``, ``trace_id``,
  ``span_id``, ``trace_flags``, ``exception.type`` / ``.message`` / ``.stacktrace``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROFILES = ("default", "ecs", "gcp", "otel")

# Well-known request fields, by canonical name, as each profile spells them.
_FIELD_NAMES: dict[str, dict[str, str]] = {
    "default": {},
    "gcp": {},
    "ecs": {
        "http_method": "http.request.method",
        "http_route": "http.route",
        "http_path": "url.path",
        "http_status": "http.response.status_code",
        "response_size": "http.response.body.bytes",
        "client_ip": "client.ip",
        "user_agent": "user_agent.original",
        "user_id": "user.id",
    },
    "otel": {
        "http_method": "http.request.method",
        "http_route": "http.route",
        "http_path": "url.path",
        "http_status": "http.response.status_code",
        "response_size": "http.response.body.size",
        "client_ip": "client.address",
        "user_agent": "user_agent.original",
        "user_id": "enduser.id",
    },
}
_OTEL_SEVERITY = {"DEBUG": 5, "INFO": 9, "WARNING": 13, "ERROR": 17, "CRITICAL": 21}
_HEADER_KEYS = {
    "default": ("timestamp", "level", "logger", "message"),
    "ecs": ("@timestamp", "log.level", "log.logger", "message", "ecs.version"),
    "gcp": ("time", "severity", "logger", "message"),
    "otel": ("timestamp", "severity_text", "severity_number", "logger", "body"),
}


class Profile:
    """Writes the parts of a line under one profile's names; pure, and built once per formatter.

    Args:
        name: ``"default"``, ``"ecs"``, ``"gcp"`` or ``"otel"``.
        gcp_project: The project id for ``logging.googleapis.com/trace`` (gcp only).
    """

    def __init__(self, name: str, *, gcp_project: str | None = None) -> None:
        if name not in PROFILES:
            raise ValueError(f"unknown log profile {name!r}; choose one of {', '.join(PROFILES)}")
        self.name = name
        self.gcp_project = gcp_project
        self.names = _FIELD_NAMES[name]
        self.reserved = frozenset(_HEADER_KEYS[name])
        self._levels: dict[str, str] = {}

    def start(self, timestamp: str, levelname: str, logger: str, message: str) -> dict[str, Any]:
        """A new line with its header fields, in the profile's order."""
        name = self.name
        if name == "default":
            level = self._levels.get(levelname) or self._levels.setdefault(levelname, levelname.lower())
            return {"timestamp": timestamp, "level": level, "logger": logger, "message": message}
        if name == "ecs":
            level = self._levels.get(levelname) or self._levels.setdefault(levelname, levelname.lower())
            return {
                "@timestamp": timestamp,
                "log.level": level,
                "log.logger": logger,
                "message": message,
                "ecs.version": "8.11.0",
            }
        if name == "gcp":
            return {"time": timestamp, "severity": levelname, "logger": logger, "message": message}
        return {
            "timestamp": timestamp,
            "severity_text": levelname,
            "severity_number": _OTEL_SEVERITY.get(levelname, 9),
            "logger": logger,
            "body": message,
        }

    def add_context(self, out: dict[str, Any], context: Mapping[str, Any]) -> None:
        """Request fields, by canonical name (``request_id``, ``trace_id``, ``http_method``...)."""
        _context(out, context, self.name, self.gcp_project)

    def add_fields(self, out: dict[str, Any], fields: Mapping[str, Any]) -> None:
        """Extras and bound values, each as :meth:`put` writes it."""
        put = self.put
        for key, value in fields.items():
            put(out, key, value)

    def put(self, out: dict[str, Any], key: str, value: Any) -> None:
        """One field under the profile's name for it; a field that would overwrite one
        already written goes to ``extra.<name>`` (or nowhere, when it says the same)."""
        name = self.names.get(key, key) if self.names else key
        if name in out or name in self.reserved:
            if out.get(name) == value:
                return  # the request context says the same already
            name = "extra." + name
        out[name] = value

    def add_error(self, out: dict[str, Any], error: Mapping[str, str]) -> None:
        """An exception: ``{"type", "message", "stack"}``."""
        _error(out, error, self.name)


@dataclass
class Event:
    """One log event in profile-neutral form; every value is already JSON-safe and redacted.

    Attributes:
        timestamp: RFC 3339, UTC, milliseconds, ``Z``.
        levelname: ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``, ``CRITICAL`` (or a custom name).
        logger: The logger's name.
        message: The rendered message.
        context: Request fields, by canonical name (``request_id``, ``trace_id``,
            ``span_id``, ``trace_flags``, ``trace_sampled``, ``http_method``,
            ``http_route``, ``client_ip``, ``user_id``).
        fields: The extras and bound values, by their own names.
        error: ``{"type", "message", "stack"}`` of an exception, if any.
        stack_info: The stack of ``stack_info=True``, if any.
    """

    timestamp: str
    levelname: str
    logger: str
    message: str
    context: dict[str, Any] = field(default_factory=dict)
    fields: Mapping[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None
    stack_info: str | None = None


def render(event: Event, profile: str, *, gcp_project: str | None = None) -> dict[str, Any]:
    """The event as ``profile`` writes it: header fields first, then request fields, extras, error.

    Example:
        >>> render(Event("2026-01-01T00:00:00.000Z", "INFO", "app", "hi"), "gcp")["severity"]
        'INFO'
    """
    writer = Profile(profile, gcp_project=gcp_project)
    out = writer.start(event.timestamp, event.levelname, event.logger, event.message)
    if event.context:
        writer.add_context(out, event.context)
    writer.add_fields(out, event.fields)
    if event.error is not None:
        writer.add_error(out, event.error)
    if event.stack_info is not None:
        out["stack_info"] = event.stack_info
    return out


def _context(out: dict[str, Any], context: Mapping[str, Any], profile: str, gcp_project: str | None) -> None:
    if not context:
        return
    names = _FIELD_NAMES.get(profile, {})
    for key, value in context.items():
        if key == "request_id":
            out["http.request.id" if profile == "ecs" else "request_id"] = value
        elif key in ("trace_id", "span_id", "trace_flags", "trace_sampled"):
            _trace_field(out, key, value, profile, gcp_project)
        else:
            out[names.get(key, key)] = value


def _trace_field(out: dict[str, Any], key: str, value: Any, profile: str, gcp_project: str | None) -> None:
    if profile == "gcp":
        if key == "trace_id":
            trace = f"projects/{gcp_project}/traces/{value}" if gcp_project else value
            out["logging.googleapis.com/trace"] = trace
        elif key == "span_id":
            out["logging.googleapis.com/spanId"] = value
        elif key == "trace_sampled":
            out["logging.googleapis.com/trace_sampled"] = value
    elif profile == "ecs":
        if key in ("trace_id", "span_id"):
            out["trace.id" if key == "trace_id" else "span.id"] = value
    elif profile == "otel":
        if key != "trace_sampled":
            out[key] = value
    elif key in ("trace_id", "span_id"):
        out[key] = value


def _error(out: dict[str, Any], error: Mapping[str, str], profile: str) -> None:
    if profile == "ecs":
        out["error.type"] = error["type"]
        out["error.message"] = error["message"]
        out["error.stack_trace"] = error["stack"]
    elif profile == "otel":
        out["exception.type"] = error["type"]
        out["exception.message"] = error["message"]
        out["exception.stacktrace"] = error["stack"]
    elif profile == "gcp":
        out["exception"] = {"type": error["type"], "message": error["message"]}
        out["stack_trace"] = error["stack"]  # where Cloud Error Reporting looks
    else:
        out["exception"] = dict(error)
