"""The metric and span reference of docs/observability.md, made from the catalogue and the events.

``python -m tests.support.metrics_reference`` prints it; tests/test_observability_docs.py checks
that the page holds exactly this, so the reference cannot drift from the code.
"""

from __future__ import annotations

import typing

from backendkit.auth._core.errors import KEY_REASONS, REASONS
from backendkit.observability._core import events as ev
from backendkit.observability._core.catalog import (
    CURSOR_REASONS,
    INSTRUMENTS,
    METHODS,
    OTHER,
    Instrument,
    attributes_of,
    prometheus_label,
    prometheus_name,
    span_of,
)


def _literal(kind: object) -> str:
    return ", ".join(f"`{v}`" for v in typing.get_args(kind))


# Where each label's values come from: a closed set, or a name fixed when the application is built.
VALUES: dict[tuple[str, str], str] = {
    ("http.server.request.duration", "http.request.method"): ", ".join(f"`{m}`" for m in sorted(METHODS))
    + f", else `{OTHER}`",
    ("http.server.request.duration", "http.route"): 'the route template; `""` when no route matched',
    ("http.server.request.duration", "http.response.status_code"): "the status sent",
    ("backendkit.ratelimit.decisions", "policy"): "the policy's name (`5-per-60s`, or the name you gave it)",
    ("backendkit.ratelimit.decisions", "outcome"): _literal(ev.RateLimitOutcome),
    ("backendkit.auth.verifications", "outcome"): _literal(ev.TokenOutcome),
    ("backendkit.auth.verifications", "reason"): "`none`, or one of "
    + ", ".join(f"`{r}`" for r in sorted(REASONS | KEY_REASONS)),
    ("backendkit.auth.authorizations", "outcome"): _literal(ev.GuardOutcome),
    ("backendkit.auth.authorizations", "reason"): "`none`, " + _literal(ev.GuardReason),
    ("backendkit.auth.jwks.fetches", "outcome"): _literal(ev.JwksOutcome),
    ("backendkit.auth.jwks.key_lookups", "result"): "`hit`, `miss`",
    ("backendkit.idempotency.requests", "outcome"): _literal(ev.IdempotencyOutcome),
    ("backendkit.health.check.duration", "check"): "the check's name",
    ("backendkit.health.check.duration", "status"): _literal(ev.HealthStatus),
    ("backendkit.health.reports", "probe"): "`live`, `ready`, `startup`, `healthz`",
    ("backendkit.health.reports", "status"): _literal(ev.HealthStatus),
    ("backendkit.pagination.pages", "strategy"): _literal(ev.PageStrategy),
    ("backendkit.pagination.cursor_refusals", "reason"): ", ".join(f"`{r}`" for r in sorted(CURSOR_REASONS))
    + ", else `other`",
    ("backendkit.store.errors", "store"): _literal(ev.StoreName),
    ("backendkit.store.breakers_open", "store"): _literal(ev.StoreName),
}
_SAME_AS = "http.server.request.duration"


def _values(instrument: Instrument, label: str) -> str:
    found = VALUES.get((instrument.name, label)) or VALUES.get((_SAME_AS, label))
    assert found is not None, f"no values documented for {instrument.name} {label}"
    return found


# One of each event, to read the spans and attributes they stand for.
SAMPLES: tuple[ev.Event, ...] = (
    ev.RateLimitDecided("5-per-60s", "limited", 0.0),
    ev.TokenVerified("refused", "expired", 0.0),
    ev.AccessGuarded("denied", "forbidden"),
    ev.JwksFetched("ok", 0.0),
    ev.KeyLookedUp(True),
    ev.IdempotencyBegun("replay", 0.0),
    ev.IdempotencyFinished("stored", 0.0),
    ev.HealthChecked("database", "pass", 0.0),
    ev.HealthReported("ready", "pass"),
    ev.PageServed("cursor"),
    ev.CursorRefused("expired"),
    ev.StoreFailed("ratelimit"),
    ev.BreakerChanged("ratelimit", True),
)


def metrics_table() -> str:
    rows = [
        "| Prometheus | OpenTelemetry | kind | unit | labels |",
        "|---|---|---|---|---|",
    ]
    for instrument in INSTRUMENTS:
        labels = "<br>".join(
            f"`{prometheus_label(label)}`: {_values(instrument, label)}" for label in instrument.labels
        )
        kind = {"updown": "gauge (up-down counter)"}.get(instrument.kind, instrument.kind)
        rows.append(
            f"| `{prometheus_name(instrument)}` | `{instrument.name}` | {kind} | `{instrument.unit}` | {labels} |"
        )
    return "\n".join(rows)


def spans_table() -> str:
    rows = ["| span | attributes | from |", "|---|---|---|"]
    for event in SAMPLES:
        spec = span_of(event)
        if spec is not None:
            keys = ", ".join(f"`{key}`" for key in spec.attributes)
            rows.append(f"| `{spec.name}` (child) | {keys} | `{type(event).__name__}` |")
    for event in SAMPLES:
        attributes = attributes_of(event)
        if attributes:
            keys = ", ".join(f"`{key}`" for key in attributes)
            rows.append(f"| the request's span | {keys} | `{type(event).__name__}` |")
    return "\n".join(rows)


def reference() -> str:
    """The generated part of the page: the metrics, then the spans."""
    return f"### Metrics\n\n{metrics_table()}\n\n### Spans\n\n{spans_table()}"


if __name__ == "__main__":
    print(reference())
