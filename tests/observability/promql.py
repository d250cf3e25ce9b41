"""What a PromQL expression selects, checked against backendkit's metric catalogue (for the dashboard and rules).

:func:`selectors` reads the metric selectors and grouping labels out of an expression
that ``promtool`` has already parsed (a small tokenizer, enough for valid PromQL:
any identifier it cannot place is taken for a metric name, so a mistake fails the
catalogue check rather than slipping past it). :func:`problems` lists every name,
label and literal label value that backendkit cannot produce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import get_args

from backendkit.auth._core.errors import REASONS
from backendkit.health._health import _PROBES
from backendkit.observability._core import catalog, events
from backendkit.observability._core.catalog import INSTRUMENTS, Instrument

SCRAPE_LABELS = frozenset({"job", "instance"})
"""Labels Prometheus adds to every scraped series (the catalogue does not know them)."""

STATUS_CODES = frozenset(str(code) for code in range(100, 600))


def _literal(kind: object) -> frozenset[str]:
    return frozenset(get_args(kind))


# Each instrument label's possible values: a closed set, or None where the application names them (routes, policies,
# checks). Keyed by the OpenTelemetry names; test_every_catalogue_label_has_a_value_domain keeps it complete.
_HTTP = {
    "http.request.method": catalog.METHODS | {catalog.OTHER},
    "http.route": None,
    "http.response.status_code": STATUS_CODES,
}
VALUES: dict[str, dict[str, frozenset[str] | None]] = {
    catalog.REQUEST_DURATION.name: _HTTP,
    catalog.REQUEST_SIZE.name: _HTTP,
    catalog.RESPONSE_SIZE.name: _HTTP,
    catalog.ACTIVE_REQUESTS.name: {"http.request.method": _HTTP["http.request.method"]},
    catalog.DEPRECATED_REQUESTS.name: {name: _HTTP[name] for name in ("http.request.method", "http.route")},
    catalog.RATELIMIT_DECISIONS.name: {"policy": None, "outcome": _literal(events.RateLimitOutcome)},
    # measure() writes "none" for an accepted token's (or an allowed guard's) missing reason.
    catalog.AUTH_VERIFICATIONS.name: {"outcome": _literal(events.TokenOutcome), "reason": REASONS | {"none"}},
    # The guard's reasons are the two denials auth/_bearer.py tells apart.
    catalog.AUTH_AUTHORIZATIONS.name: {
        "outcome": _literal(events.GuardOutcome),
        "reason": _literal(events.GuardReason) | {"none"},
    },
    catalog.JWKS_FETCHES.name: {"outcome": _literal(events.JwksOutcome)},
    catalog.JWKS_KEY_LOOKUPS.name: {"result": frozenset({"hit", "miss"})},
    catalog.IDEMPOTENCY_REQUESTS.name: {"outcome": _literal(events.IdempotencyOutcome)},
    catalog.HEALTH_CHECK_DURATION.name: {"check": None, "status": _literal(events.HealthStatus)},
    catalog.HEALTH_REPORTS.name: {"probe": _PROBES | {"other"}, "status": _literal(events.HealthStatus)},
    catalog.PAGES.name: {"strategy": _literal(events.PageStrategy)},
    catalog.CURSOR_REFUSALS.name: {"reason": catalog.CURSOR_REASONS | {"other"}},
    catalog.STORE_ERRORS.name: {"store": _literal(events.StoreName)},
    catalog.BREAKERS_OPEN.name: {"store": _literal(events.StoreName)},
}


@dataclass(frozen=True)
class Series:
    """A Prometheus series name backendkit exposes: its instrument and its labels (Prometheus spelling)."""

    instrument: Instrument
    labels: dict[str, frozenset[str] | None]


def exposed() -> dict[str, Series]:
    """Every series name backendkit exposes: ``_total`` for counters, the three histogram series, gauges as named."""
    found: dict[str, Series] = {}
    for instrument in INSTRUMENTS:
        labels = {catalog.prometheus_label(name): VALUES[instrument.name][name] for name in instrument.labels}
        labels.update(dict.fromkeys(SCRAPE_LABELS))
        base = catalog.prometheus_base_name(instrument)
        if instrument.kind == "counter":
            found[catalog.prometheus_name(instrument)] = Series(instrument, labels)
        elif instrument.kind == "histogram":
            found[f"{base}_bucket"] = Series(instrument, {**labels, "le": None})
            found[f"{base}_sum"] = Series(instrument, labels)
            found[f"{base}_count"] = Series(instrument, labels)
        else:
            found[base] = Series(instrument, labels)
    return found


@dataclass
class Selection:
    """What one expression reads: its selectors ``(name, [(label, op, value)])`` and its grouping labels."""

    selectors: list[tuple[str | None, list[tuple[str, str, str]]]] = field(default_factory=list)
    grouping: set[str] = field(default_factory=set)


_TOKEN = re.compile(
    r"""\s+|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[smhdwy]?)
    |(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
    |(?P<op>=~|!~|!=|==|>=|<=|[-+*/%^=<>{}()\[\],@])""",
    re.VERBOSE,
)
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = {"and", "or", "unless", "bool", "offset"}
_AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk"}
_AGGREGATIONS |= {"quantile"}


def tokens(expr: str) -> list[tuple[str, str]]:
    """``(kind, text)`` pairs; a character no token starts with raises ``ValueError``."""
    found, position = [], 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise ValueError(f"cannot read {expr[position:]!r}")
        position = match.end()
        if match.lastgroup is not None:
            found.append((match.lastgroup, match.group()))
    return found


def _unquote(text: str) -> str:
    return text[1:-1] if text[0] == "`" else re.sub(r"\\(.)", r"\1", text[1:-1])


def selectors(expr: str) -> Selection:
    """The selectors and grouping labels of a valid PromQL expression."""
    seen, items, index = Selection(), tokens(expr), 0
    while index < len(items):
        kind, text = items[index]
        following = items[index + 1][1] if index + 1 < len(items) else ""
        if kind == "ident" and text.lower() in _GROUPING:
            index += 1
            if following == "(":
                index += 1
                while items[index][1] != ")":
                    if items[index][0] == "ident":
                        seen.grouping.add(items[index][1])
                    index += 1
        elif kind == "ident" and (text.lower() in _KEYWORDS | _AGGREGATIONS or following == "("):
            pass  # an operator keyword, a function or an aggregation
        elif kind == "ident" or text == "{":
            name = text if kind == "ident" else None
            matchers: list[tuple[str, str, str]] = []
            if kind == "ident" and following == "{":
                index += 1
            if items[index][1] == "{":
                index += 1
                while items[index][1] != "}":
                    label, op, value = items[index][1], items[index + 1][1], _unquote(items[index + 2][1])
                    matchers.append((label, op, value))
                    index += 4 if items[index + 3][1] == "," else 3
            seen.selectors.append((name, matchers))
        elif text == "[":
            while items[index][1] != "]":
                index += 1
        index += 1
    return seen


def _value_problem(domain: frozenset[str], op: str, value: str) -> str | None:
    if op in ("=", "!="):
        return None if value in domain else f"{value!r} is never produced"
    pattern = re.compile(value)
    if re.fullmatch(r"[\w]+(\|[\w]+)*", value):  # an alternation of literals: each must be a real value
        missing = sorted(set(value.split("|")) - domain)
        return f"{missing} never produced" if missing else None
    return None if any(pattern.fullmatch(candidate) for candidate in domain) else f"/{value}/ matches no value"


def problems(expr: str) -> list[str]:
    """Every metric, label and literal value in ``expr`` that backendkit cannot expose (empty when all is well)."""
    known, found = exposed(), []
    selection = selectors(expr)
    labels_in_scope: set[str] = set()
    for name, matchers in selection.selectors:
        if name is None or name not in known:
            found.append(f"{name!r} is not a metric backendkit exposes")
            continue
        series = known[name]
        labels_in_scope |= set(series.labels)
        for label, op, value in matchers:
            if label not in series.labels:
                found.append(f"{name} has no label {label!r}")
                continue
            domain = series.labels[label]
            problem = None if domain is None else _value_problem(domain, op, value)
            if problem:
                found.append(f"{name}{{{label}{op}{value!r}}}: {problem}")
    for label in sorted(selection.grouping - labels_in_scope):
        found.append(f"grouping by {label!r}, a label none of its metrics has")
    return found
