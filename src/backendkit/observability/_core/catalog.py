"""Every instrument backendkit records, and what each event and request moves: one table for every observer.

The Prometheus and OpenTelemetry observers build their instruments from
:data:`INSTRUMENTS` and record what :func:`measure` and :func:`measure_request`
return, so the two can never disagree on a name, a unit or a label. The metric
reference in the docs is generated from this module too.

Names follow OpenTelemetry's HTTP semantic conventions; :func:`prometheus_name`
is their Prometheus translation (dots to underscores, the unit as a suffix,
``_total`` for a counter).

Example:
    >>> from backendkit.observability._core.events import RateLimitDecided
    >>> [(m.instrument.name, m.labels, m.value) for m in measure(RateLimitDecided("5-per-60s", "limited", 0.001))]
    [('backendkit.ratelimit.decisions', ('5-per-60s', 'limited'), 1)]
    >>> prometheus_name(RATELIMIT_DECISIONS)
    'backendkit_ratelimit_decisions_total'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from backendkit.observability._core.events import (
    AccessGuarded,
    BreakerChanged,
    CursorRefused,
    Event,
    HealthChecked,
    HealthReported,
    IdempotencyBegun,
    IdempotencyFinished,
    JwksFetched,
    KeyLookedUp,
    PageServed,
    RateLimitDecided,
    RequestEnd,
    StoreFailed,
    TokenVerified,
)

Kind = Literal["counter", "histogram", "updown"]

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""Seconds: OpenTelemetry's advice for ``http.server.request.duration``, from 5 ms to 10 s."""

SIZE_BUCKETS = (0.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0, 10_000_000.0)
"""Bytes: empty, then each power of ten up to 10 MB."""

CHECK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds a health check takes: 1 ms to its longest sensible timeout."""

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
"""The methods a label may name; any other is ``_OTHER`` (OpenTelemetry's rule, so a method is never a new series)."""

OTHER = "_OTHER"


@dataclass(frozen=True)
class Instrument:
    """One metric: its OpenTelemetry name, kind, unit, label names and (for a histogram) bucket bounds."""

    name: str
    kind: Kind
    unit: str
    description: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


HTTP_LABELS = ("http.request.method", "http.route", "http.response.status_code")

REQUEST_DURATION = Instrument(
    "http.server.request.duration", "histogram", "s", "Duration of HTTP server requests.", HTTP_LABELS, DURATION_BUCKETS
)
ACTIVE_REQUESTS = Instrument(
    "http.server.active_requests", "updown", "{request}", "Requests being handled.", ("http.request.method",)
)
REQUEST_SIZE = Instrument(
    "http.server.request.body.size", "histogram", "By", "Size of request bodies (declared).", HTTP_LABELS, SIZE_BUCKETS
)
RESPONSE_SIZE = Instrument(
    "http.server.response.body.size", "histogram", "By", "Size of response bodies.", HTTP_LABELS, SIZE_BUCKETS
)
DEPRECATED_REQUESTS = Instrument(
    "backendkit.http.deprecated_requests",
    "counter",
    "{request}",
    "Answers that carried a Deprecation header (a deprecated route or API version), by method and route.",
    ("http.request.method", "http.route"),
)
RATELIMIT_DECISIONS = Instrument(
    "backendkit.ratelimit.decisions",
    "counter",
    "{decision}",
    "Rate-limit decisions by policy and outcome.",
    ("policy", "outcome"),
)
AUTH_VERIFICATIONS = Instrument(
    "backendkit.auth.verifications",
    "counter",
    "{token}",
    "Bearer tokens and API keys verified, by outcome and refusal reason.",
    ("outcome", "reason"),
)
AUTH_AUTHORIZATIONS = Instrument(
    "backendkit.auth.authorizations",
    "counter",
    "{decision}",
    "Guard decisions on verified principals, by outcome and reason.",
    ("outcome", "reason"),
)
JWKS_FETCHES = Instrument(
    "backendkit.auth.jwks.fetches", "counter", "{fetch}", "JWKS fetches by outcome.", ("outcome",)
)
JWKS_KEY_LOOKUPS = Instrument(
    "backendkit.auth.jwks.key_lookups",
    "counter",
    "{lookup}",
    "kid lookups in the cached JWKS: hit or miss.",
    ("result",),
)
IDEMPOTENCY_REQUESTS = Instrument(
    "backendkit.idempotency.requests",
    "counter",
    "{request}",
    "Requests with an idempotency key, by outcome.",
    ("outcome",),
)
HEALTH_CHECK_DURATION = Instrument(
    "backendkit.health.check.duration",
    "histogram",
    "s",
    "Health checks run, by check and status.",
    ("check", "status"),
    CHECK_BUCKETS,
)
HEALTH_REPORTS = Instrument(
    "backendkit.health.reports", "counter", "{report}", "Probe answers by probe and status.", ("probe", "status")
)
PAGES = Instrument("backendkit.pagination.pages", "counter", "{page}", "Pages served by strategy.", ("strategy",))
CURSOR_REFUSALS = Instrument(
    "backendkit.pagination.cursor_refusals", "counter", "{cursor}", "Cursors refused, by reason.", ("reason",)
)
STORE_ERRORS = Instrument(
    "backendkit.store.errors", "counter", "{error}", "Store calls that failed, by the piece's store.", ("store",)
)
BREAKERS_OPEN = Instrument(
    "backendkit.store.breakers_open",
    "updown",
    "{breaker}",
    "Breakers open (their store failed and has not answered since), by the piece's store.",
    ("store",),
)

INSTRUMENTS: tuple[Instrument, ...] = (
    REQUEST_DURATION,
    ACTIVE_REQUESTS,
    REQUEST_SIZE,
    RESPONSE_SIZE,
    DEPRECATED_REQUESTS,
    RATELIMIT_DECISIONS,
    AUTH_VERIFICATIONS,
    AUTH_AUTHORIZATIONS,
    JWKS_FETCHES,
    JWKS_KEY_LOOKUPS,
    IDEMPOTENCY_REQUESTS,
    HEALTH_CHECK_DURATION,
    HEALTH_REPORTS,
    PAGES,
    CURSOR_REFUSALS,
    STORE_ERRORS,
    BREAKERS_OPEN,
)
"""Every instrument, in the order the docs list them."""

CURSOR_REASONS = frozenset(
    {"malformed", "too_long", "signature", "version", "expired", "sort_mismatch", "filter_mismatch"}
)

_UNITS = {"s": "seconds", "By": "bytes"}


@dataclass(slots=True)  # not frozen: built per request (see events.py on what frozen costs)
class Measurement:
    """One value to record on one instrument, with its label values in the instrument's label order."""

    instrument: Instrument
    labels: tuple[str, ...]
    value: float


@dataclass(frozen=True)
class SpanSpec:
    """A child span an event stands for: its name and attributes (its length is the event's ``duration``)."""

    name: str
    attributes: Mapping[str, str]


def prometheus_name(instrument: Instrument) -> str:
    """The metric's Prometheus name: dots to underscores, ``_seconds``/``_bytes`` for a unit, ``_total`` for a counter.

    ``prometheus_client`` adds ``_total`` itself: :func:`prometheus_base_name` is what to give it.
    """
    base = prometheus_base_name(instrument)
    return f"{base}_total" if instrument.kind == "counter" else base


def prometheus_base_name(instrument: Instrument) -> str:
    """The Prometheus name without a counter's ``_total``."""
    base = instrument.name.replace(".", "_")
    suffix = _UNITS.get(instrument.unit)
    return f"{base}_{suffix}" if suffix else base


def prometheus_label(name: str) -> str:
    """A label name as Prometheus spells it (``http.route`` → ``http_route``)."""
    return name.replace(".", "_")


def method_label(method: str | None) -> str:
    """The method as a label: one of :data:`METHODS`, else ``_OTHER``."""
    return method if method in METHODS else OTHER


def route_label(route: str | None) -> str:
    """The route template as a label: every unmatched path is the one value ``""`` (no route)."""
    return route or ""


def bounded(value: str | None, allowed: frozenset[str]) -> str:
    """``value`` when it is one of ``allowed``, else ``"other"`` (a label never takes a value from outside)."""
    return value if value is not None and value in allowed else "other"


def measure_request(end: RequestEnd) -> tuple[Measurement, ...]:
    """What an answered request records: its duration and its body sizes, where known."""
    labels = (method_label(end.method), route_label(end.route), str(end.status))
    found = [Measurement(REQUEST_DURATION, labels, end.duration)]
    if end.request_size is not None:
        found.append(Measurement(REQUEST_SIZE, labels, float(end.request_size)))
    if end.response_size is not None:
        found.append(Measurement(RESPONSE_SIZE, labels, float(end.response_size)))
    return tuple(found)


def measure_deprecated(end: RequestEnd) -> tuple[Measurement, ...]:
    """A call a deprecated route or version answered: one step of its counter (nothing for the others).

    Apart from :func:`measure_request`: it is backendkit's own metric, recorded even where an
    OpenTelemetry instrumentation records the request's (HTTP conventions') metrics.
    """
    if not end.deprecated:
        return ()
    return (Measurement(DEPRECATED_REQUESTS, (method_label(end.method), route_label(end.route)), 1),)


def request_span_name(method: str | None, route: str | None) -> str:
    """``METHOD route-template`` for every status; only the method when no route matched (``HTTP`` for an odd one)."""
    shown = method if method in METHODS else "HTTP"
    return f"{shown} {route}" if route else shown


def measure(event: Event) -> tuple[Measurement, ...]:
    """The measurements one event records (most events: one counter step)."""
    if isinstance(event, RateLimitDecided):
        return (Measurement(RATELIMIT_DECISIONS, (event.policy, event.outcome), 1),)
    if isinstance(event, TokenVerified):
        return (Measurement(AUTH_VERIFICATIONS, (event.outcome, event.reason or "none"), 1),)
    if isinstance(event, AccessGuarded):
        return (Measurement(AUTH_AUTHORIZATIONS, (event.outcome, event.reason or "none"), 1),)
    if isinstance(event, JwksFetched):
        return (Measurement(JWKS_FETCHES, (event.outcome,), 1),)
    if isinstance(event, KeyLookedUp):
        return (Measurement(JWKS_KEY_LOOKUPS, ("hit" if event.hit else "miss",), 1),)
    if isinstance(event, IdempotencyBegun):
        return (Measurement(IDEMPOTENCY_REQUESTS, (event.outcome,), 1),)
    if isinstance(event, HealthChecked):
        return (Measurement(HEALTH_CHECK_DURATION, (event.check, event.status), event.duration),)
    if isinstance(event, HealthReported):
        return (Measurement(HEALTH_REPORTS, (event.probe, event.status), 1),)
    if isinstance(event, PageServed):
        return (Measurement(PAGES, (event.strategy,), 1),)
    if isinstance(event, CursorRefused):
        return (Measurement(CURSOR_REFUSALS, (bounded(event.reason, CURSOR_REASONS),), 1),)
    if isinstance(event, StoreFailed):
        return (Measurement(STORE_ERRORS, (event.store,), 1),)
    if isinstance(event, BreakerChanged):
        return (Measurement(BREAKERS_OPEN, (event.store,), 1 if event.open else -1),)
    return ()  # IdempotencyFinished: a span only


def span_of(event: Event) -> SpanSpec | None:
    """The child span an event stands for, or ``None`` (the event only counts, or only marks the request's span)."""
    if isinstance(event, RateLimitDecided):
        attributes = {"backendkit.ratelimit.policy": event.policy, "backendkit.ratelimit.outcome": event.outcome}
        return SpanSpec("backendkit.ratelimit.check", attributes)
    if isinstance(event, TokenVerified):
        attributes = {"backendkit.auth.outcome": event.outcome}
        if event.reason is not None:
            attributes["backendkit.auth.reason"] = event.reason
        return SpanSpec("backendkit.auth.verify", attributes)
    if isinstance(event, JwksFetched):
        return SpanSpec("backendkit.auth.jwks.fetch", {"backendkit.auth.jwks.outcome": event.outcome})
    if isinstance(event, IdempotencyBegun):
        return SpanSpec("backendkit.idempotency.begin", {"backendkit.idempotency.outcome": event.outcome})
    if isinstance(event, IdempotencyFinished):
        return SpanSpec("backendkit.idempotency.finish", {"backendkit.idempotency.outcome": event.outcome})
    if isinstance(event, HealthChecked):
        attributes = {"backendkit.health.check": event.check, "backendkit.health.status": event.status}
        return SpanSpec("backendkit.health.check", attributes)
    return None


def attributes_of(event: Event) -> Mapping[str, str]:
    """What an event without a span of its own adds to the request's span (or nothing)."""
    if isinstance(event, AccessGuarded):
        return {
            "backendkit.auth.guard": event.outcome,
            **({"backendkit.auth.reason": event.reason} if event.reason else {}),
        }
    if isinstance(event, PageServed):
        return {"backendkit.pagination.strategy": event.strategy}
    if isinstance(event, CursorRefused):
        return {"backendkit.pagination.cursor_refused": bounded(event.reason, CURSOR_REASONS)}
    if isinstance(event, HealthReported):
        return {"backendkit.health.probe": event.probe, "backendkit.health.status": event.status}
    return {}
