"""The access-log line of one request: pure, so every framework writes the same one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from backendkit.logging._core.redact import Redactor
from backendkit.logging._core.scrub import REDACTED, unquote_plus

ACCESS_LOGGER = "backendkit.access"
_DEFAULT_REDACTOR = Redactor()
_CONVERTER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>|\{([^{}:]+)(?::[^{}]*)?\}")

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40


@dataclass(frozen=True)
class AccessEntry:
    """What an adapter logs for one request: level, the message's parts and fields.

    The message is ``"%s %s %d"`` of method, path and status, logged with them
    as arguments (``GET /tasks/5 404``).
    """

    level: int
    method: str
    path: str
    status: int
    fields: dict[str, Any]

    @property
    def message(self) -> str:
        """The message as written: ``GET /tasks/5 404``."""
        return f"{self.method} {self.path} {self.status}"


@lru_cache(maxsize=4096)  # templates are few and fixed; this runs once per request
def normalize_route(template: str | None) -> str | None:
    """A route template in one syntax for all frameworks: ``/tasks/{task_id}``.

    Flask's and Django's ``<int:task_id>`` and Starlette's ``{task_id:int}`` both
    become ``{task_id}``, and Django's relative routes get their leading slash.

    Example:
        >>> normalize_route("tasks/<int:task_id>"), normalize_route("/tasks/{task_id:int}")
        ('/tasks/{task_id}', '/tasks/{task_id}')
    """
    if template is None:
        return None
    normalized = _CONVERTER.sub(lambda m: "{" + (m.group(1) or m.group(2)) + "}", template)
    return normalized if normalized.startswith("/") else "/" + normalized


_SEPARATORS = re.compile(r"([&;])")


def redact_query(query: str, redactor: Redactor = _DEFAULT_REDACTOR) -> str:
    """``query`` with the values of secret-looking parameters (and credentials anywhere) replaced.

    Parameters are split on ``&`` and ``;`` and read decoded, so ``to%6Ben=...``
    and ``x=Bearer%20...`` are caught; a parameter with nothing to hide is kept
    byte for byte.
    """
    if not query:
        return query
    parts = []
    for part in _SEPARATORS.split(query):
        if part in ("&", ";") or not part:
            parts.append(part)
            continue
        name, sep, _ = part.partition("=")
        decoded_name = unquote_plus(name)
        if sep and redactor.is_secret_key(decoded_name):
            # A name that decodes to a pair ("password%3Dhunter2") holds a value itself.
            shown = REDACTED if "=" in decoded_name or ":" in decoded_name else name
            parts.append(f"{shown}={REDACTED}")
            continue
        decoded = unquote_plus(part)
        scrubbed = redactor.scrub(decoded)
        parts.append(part if scrubbed == decoded else scrubbed)
    return "".join(parts)


def access_level(status: int, *, failed: bool = False) -> int:
    """5xx (or a response that failed after starting) ERROR, 4xx WARNING, the rest INFO."""
    return ERROR if status >= 500 or failed else WARNING if status >= 400 else INFO


def access_entry(
    *,
    method: str,
    path: str,
    query: str,
    status: int,
    duration_ms: float,
    response_size: int | None,
    user_agent: str | None,
    user_id: str | None = None,
    failed: bool = False,
    deprecated: bool = False,
) -> AccessEntry:
    """The access-log entry of a finished request.

    5xx are logged at ERROR, 4xx at WARNING, everything else at INFO; a request
    that failed after its response had started (``failed``) at ERROR. The message
    never carries the query string; the ``http_path`` field carries it redacted.
    Method, route, client ip and request id come from the request context that
    every line of the request carries. A ``deprecated`` route's line has ``"deprecated": true``.
    """
    level = access_level(status, failed=failed)
    fields: dict[str, Any] = {
        "http_path": f"{path}?{redact_query(query)}" if query else path,
        "http_status": status,
        "duration_ms": round(duration_ms, 3),
        "response_size": response_size,
        "user_agent": user_agent,
    }
    if user_id is not None:
        fields["user_id"] = user_id
    if deprecated:
        fields["deprecated"] = True
    return AccessEntry(level, method, path, status, fields)
