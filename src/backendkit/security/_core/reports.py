"""CSP violation reports: parsed, bounded and redacted before they reach a log. Pure.

Browsers send them in two shapes: the older ``application/csp-report`` (one
``{"csp-report": {...}}``) and the Reporting API's ``application/reports+json``
(a list of ``{"type": "csp-violation", "body": {...}}``). Both become the same
flat fields. URLs lose their query, fragment and credentials (tokens travel
there); the script sample a browser may include is dropped (it is page content).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from backendkit.errors import MalformedJSON, UnsupportedMediaType

MEDIA_TYPES = ("application/csp-report", "application/reports+json")
"""What browsers send reports as: the first for ``report-uri``, the second for the Reporting API."""
MAX_REPORTS = 20
"""The most violations taken from one body."""
MAX_FIELD = 512

# The fields kept, by the names of either format, as the log calls them.
_FIELDS = {
    "document-uri": "document_uri",
    "documentURL": "document_uri",
    "referrer": "referrer",
    "blocked-uri": "blocked_uri",
    "blockedURL": "blocked_uri",
    "effective-directive": "directive",
    "effectiveDirective": "directive",
    "violated-directive": "directive",
    "disposition": "disposition",
    "source-file": "source_file",
    "sourceFile": "source_file",
    "line-number": "line",
    "lineNumber": "line",
    "column-number": "column",
    "columnNumber": "column",
    "status-code": "status_code",
    "statusCode": "status_code",
}
_URLS = frozenset({"document_uri", "referrer", "blocked_uri", "source_file"})


def redact_url(value: str) -> str:
    """A URL without credentials, query or fragment; keywords (``inline``, ``eval``) as they are.

    Example:
        >>> redact_url("https://user:pw@app.example.com/a/b?token=s3cret#x")
        'https://app.example.com/a/b'
        >>> redact_url("inline"), redact_url("data:text/javascript,alert(1)"), redact_url("//u:p@cdn.test/x?k")
        ('inline', 'data', '//cdn.test/x')
    """
    cut = value.split("#", 1)[0].split("?", 1)[0]
    scheme, sep, rest = cut.partition("//")
    if not sep or (scheme and not scheme.endswith(":")):
        head = cut.split(":", 1)[0]  # data:..., blob:... keep only their scheme
        return head.rpartition("@")[2][:MAX_FIELD]
    host, slash, path = rest.partition("/")
    host = host.rpartition("@")[2]
    return f"{scheme}//{host}{slash}{path}"[:MAX_FIELD]


def _violation(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict):
        return None
    out: dict[str, Any] = {}
    for key, name in _FIELDS.items():
        value = body.get(key)
        if name in out or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            continue
        if isinstance(value, int):
            out[name] = value
        else:
            text = redact_url(value) if name in _URLS else value[:MAX_FIELD]
            out[name] = "".join(c if c.isprintable() else "?" for c in text)  # one log line stays one line
    return out or None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # (Python's reader takes NaN and Infinity; JSON has neither)


def _is_report(entry: Any) -> bool:
    """A Reporting API report: an object with a ``type`` and an object ``body`` (of any type of report)."""
    return isinstance(entry, dict) and isinstance(entry.get("type"), str) and isinstance(entry.get("body"), dict)


def parse_reports(body: bytes, content_type: str | None) -> list[dict[str, Any]]:
    """The violations in a report body, redacted; at most :data:`MAX_REPORTS`.

    Raises:
        UnsupportedMediaType: The body is not declared as one of :data:`MEDIA_TYPES`.
        MalformedJSON: It is not JSON, or not a report of either shape.

    Example:
        >>> body = b'{"csp-report": {"document-uri": "https://a.test/p?x=1", "blocked-uri": "inline",'
        >>> body += b' "effective-directive": "script-src-elem", "script-sample": "alert(1)"}}'
        >>> parse_reports(body, "application/csp-report")
        [{'document_uri': 'https://a.test/p', 'blocked_uri': 'inline', 'directive': 'script-src-elem'}]
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise UnsupportedMediaType(f"A CSP report is sent as {' or '.join(MEDIA_TYPES)}.")
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise MalformedJSON() from exc
    if media == MEDIA_TYPES[0] and isinstance(data, dict) and isinstance(data.get("csp-report"), dict):
        items = [data["csp-report"]]
    elif media == MEDIA_TYPES[1] and isinstance(data, list) and all(_is_report(entry) for entry in data):
        items = [entry["body"] for entry in data[:MAX_REPORTS] if entry["type"] == "csp-violation"]
    else:
        raise MalformedJSON(f"The body is not a CSP violation report as {media} sends it.")
    return [v for v in (_violation(item) for item in items) if v is not None]


class ReportBudget:
    """How many reports each client may still send this minute: a token bucket per address, time passed in.

    At most ``clients`` addresses are remembered (the least recently seen is
    forgotten first), so the budget itself cannot grow without bound.
    """

    __slots__ = ("_buckets", "clients", "per_minute")

    def __init__(self, per_minute: int, clients: int = 4096) -> None:
        self.per_minute = per_minute
        self.clients = clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, now: float, wanted: int = 1) -> int:
        """Spend up to ``wanted`` of ``client``'s reports at ``now`` (seconds); how many it may log (0: none)."""
        tokens, then = self._buckets.pop(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + max(0.0, now - then) * self.per_minute / 60.0)
        granted = min(wanted, int(tokens))
        self._buckets[client] = (tokens - granted, now)
        while len(self._buckets) > self.clients:
            self._buckets.popitem(last=False)
        return granted
