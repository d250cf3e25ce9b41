"""The catalogue: bounded labels, one label value per label name, Prometheus names, span names and attributes."""

from __future__ import annotations

import re
import typing

from hypothesis import given
from hypothesis import strategies as st

from backendkit.auth import REASONS
from backendkit.observability import INSTRUMENTS, Event, prometheus_name
from backendkit.observability._core import events as ev
from backendkit.observability._core.catalog import (
    CURSOR_REASONS,
    METHODS,
    OTHER,
    attributes_of,
    bounded,
    measure,
    measure_request,
    method_label,
    prometheus_base_name,
    prometheus_label,
    request_span_name,
    route_label,
    span_of,
)

EVENT_TYPES: tuple[type, ...] = typing.get_args(Event)
text = st.text(max_size=40)
seconds = st.floats(min_value=0, max_value=60, allow_nan=False)


def literal(alias: object) -> st.SearchStrategy[str]:
    return st.sampled_from(typing.get_args(alias))


BUILDS: dict[type, st.SearchStrategy[Event]] = {
    ev.RateLimitDecided: st.builds(ev.RateLimitDecided, text, literal(ev.RateLimitOutcome), seconds),
    ev.TokenVerified: st.builds(
        ev.TokenVerified, literal(ev.TokenOutcome), st.none() | st.sampled_from(sorted(REASONS)), seconds
    ),
    ev.AccessGuarded: st.builds(
        ev.AccessGuarded, literal(ev.GuardOutcome), st.sampled_from([None, "insufficient_scope", "forbidden"])
    ),
    ev.JwksFetched: st.builds(ev.JwksFetched, literal(ev.JwksOutcome), seconds),
    ev.KeyLookedUp: st.builds(ev.KeyLookedUp, st.booleans()),
    ev.IdempotencyBegun: st.builds(ev.IdempotencyBegun, literal(ev.IdempotencyOutcome), seconds),
    ev.IdempotencyFinished: st.builds(ev.IdempotencyFinished, literal(ev.IdempotencyEnd), seconds),
    ev.HealthChecked: st.builds(ev.HealthChecked, text, literal(ev.HealthStatus), seconds),
    ev.HealthReported: st.builds(
        ev.HealthReported, st.sampled_from(["live", "ready", "startup", "healthz", "other"]), literal(ev.HealthStatus)
    ),
    ev.PageServed: st.builds(ev.PageServed, literal(ev.PageStrategy)),
    ev.CursorRefused: st.builds(ev.CursorRefused, text),
    ev.StoreFailed: st.builds(ev.StoreFailed, literal(ev.StoreName)),
    ev.BreakerChanged: st.builds(ev.BreakerChanged, literal(ev.StoreName), st.booleans()),
}
EVENTS: st.SearchStrategy[Event] = st.one_of(*BUILDS.values())
REQUEST_ENDS = st.builds(
    ev.RequestEnd,
    method=text,
    route=st.none() | text,
    status=st.integers(100, 599),
    duration=seconds,
    request_size=st.none() | st.integers(0, 10**12),
    response_size=st.none() | st.integers(0, 10**12),
    excluded=st.booleans(),
    failed=st.booleans(),
)


def test_the_strategies_cover_every_event_type() -> None:
    assert set(BUILDS) == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == 13


@given(st.none() | text | st.sampled_from(sorted(METHODS)))
def test_a_method_label_is_a_known_method_or_other(method: str | None) -> None:
    label = method_label(method)
    assert label in METHODS | {OTHER}
    assert label == (method if method in METHODS else OTHER)


def test_method_labels_are_case_sensitive_as_opentelemetry_says() -> None:
    assert method_label("get") == OTHER
    assert method_label("GET") == "GET"


@given(st.none() | text)
def test_a_route_label_is_the_template_or_the_one_no_route_value(route: str | None) -> None:
    assert route_label(route) in {route, ""}
    assert (route_label(route) == "") == (not route)


@given(st.none() | text, st.frozensets(text, max_size=5))
def test_bounded_never_lets_a_value_through_from_outside(value: str | None, allowed: frozenset[str]) -> None:
    assert bounded(value, allowed) in allowed | {"other"}


@given(EVENTS)
def test_every_measurement_has_one_value_per_label_of_a_catalogued_instrument(event: Event) -> None:
    for measurement in measure(event):
        assert measurement.instrument in INSTRUMENTS
        assert len(measurement.labels) == len(measurement.instrument.labels)
        assert all(isinstance(value, str) for value in measurement.labels)


@given(EVENTS)
def test_closed_set_labels_stay_in_their_sets(event: Event) -> None:
    for measurement in measure(event):
        labels = dict(zip(measurement.instrument.labels, measurement.labels, strict=True))
        if "outcome" in labels:
            assert labels["outcome"] in {
                *typing.get_args(ev.RateLimitOutcome),
                *typing.get_args(ev.TokenOutcome),
                *typing.get_args(ev.GuardOutcome),
                *typing.get_args(ev.JwksOutcome),
                *typing.get_args(ev.IdempotencyOutcome),
            }
        if measurement.instrument.name in ("backendkit.auth.verifications", "backendkit.auth.authorizations"):
            assert labels["reason"] in REASONS | {"insufficient_scope", "forbidden", "none"}
        if "reason" in labels and measurement.instrument.name.startswith("backendkit.pagination"):
            assert labels["reason"] in CURSOR_REASONS | {"other"}
        if "store" in labels:
            assert labels["store"] in typing.get_args(ev.StoreName)


def test_the_token_reasons_are_the_seventeen_invalid_token_reasons() -> None:
    assert len(REASONS) == 17


@given(REQUEST_ENDS)
def test_a_request_measures_its_duration_and_the_sizes_it_knows(end: ev.RequestEnd) -> None:
    found = measure_request(end)
    names = [m.instrument.name for m in found]
    assert names[0] == "http.server.request.duration"
    assert ("http.server.request.body.size" in names) == (end.request_size is not None)
    assert ("http.server.response.body.size" in names) == (end.response_size is not None)
    for measurement in found:
        assert len(measurement.labels) == len(measurement.instrument.labels) == 3
        method, route, status = measurement.labels
        assert method in METHODS | {OTHER}
        assert route in {end.route, ""}
        assert status == str(end.status)


PROMETHEUS = {
    "http.server.request.duration": "http_server_request_duration_seconds",
    "http.server.active_requests": "http_server_active_requests",
    "http.server.request.body.size": "http_server_request_body_size_bytes",
    "http.server.response.body.size": "http_server_response_body_size_bytes",
    "backendkit.http.deprecated_requests": "backendkit_http_deprecated_requests_total",
    "backendkit.ratelimit.decisions": "backendkit_ratelimit_decisions_total",
    "backendkit.auth.verifications": "backendkit_auth_verifications_total",
    "backendkit.auth.authorizations": "backendkit_auth_authorizations_total",
    "backendkit.auth.jwks.fetches": "backendkit_auth_jwks_fetches_total",
    "backendkit.auth.jwks.key_lookups": "backendkit_auth_jwks_key_lookups_total",
    "backendkit.idempotency.requests": "backendkit_idempotency_requests_total",
    "backendkit.health.check.duration": "backendkit_health_check_duration_seconds",
    "backendkit.health.reports": "backendkit_health_reports_total",
    "backendkit.pagination.pages": "backendkit_pagination_pages_total",
    "backendkit.pagination.cursor_refusals": "backendkit_pagination_cursor_refusals_total",
    "backendkit.store.errors": "backendkit_store_errors_total",
    "backendkit.store.breakers_open": "backendkit_store_breakers_open",
}


def test_every_instrument_has_its_prometheus_name() -> None:
    assert {i.name: prometheus_name(i) for i in INSTRUMENTS} == PROMETHEUS
    for instrument in INSTRUMENTS:
        base = prometheus_base_name(instrument)
        assert prometheus_name(instrument) == (f"{base}_total" if instrument.kind == "counter" else base)


def test_prometheus_names_and_labels_are_valid_and_never_collide() -> None:
    metric = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
    label = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
    series: list[str] = []
    for instrument in INSTRUMENTS:
        name = prometheus_name(instrument)
        assert metric.match(name), name
        # What the exposition writes: a histogram's series, a counter's _total and _created.
        if instrument.kind == "histogram":
            series += [f"{name}_bucket", f"{name}_count", f"{name}_sum", f"{name}_created"]
        elif instrument.kind == "counter":
            series += [name, f"{prometheus_base_name(instrument)}_created"]
        else:
            series.append(name)
        labels = [prometheus_label(n) for n in instrument.labels]
        assert all(label.match(n) and not n.startswith("__") for n in labels), labels
        assert len(set(labels)) == len(labels)
        assert "le" not in labels
    assert len(set(series)) == len(series)
    assert len({i.name for i in INSTRUMENTS}) == len(INSTRUMENTS)


def test_histograms_have_increasing_buckets_and_others_none() -> None:
    for instrument in INSTRUMENTS:
        if instrument.kind == "histogram":
            assert list(instrument.buckets) == sorted(set(instrument.buckets))
        else:
            assert instrument.buckets == ()


def test_request_span_names_for_every_status() -> None:
    assert request_span_name("GET", "/items/{item_id}") == "GET /items/{item_id}"  # 200, 404 from the handler
    assert request_span_name("DELETE", "/items/{item_id}") == "DELETE /items/{item_id}"  # 405 on a matched path
    assert request_span_name("GET", None) == "GET"  # unmatched: 404 without a route
    assert request_span_name("GET", "") == "GET"
    assert request_span_name("BREW", None) == "HTTP"  # a method outside the set is never a span name
    assert request_span_name("BREW", "/pot") == "HTTP /pot"
    assert request_span_name(None, None) == "HTTP"


@given(st.none() | text, st.none() | text)
def test_a_span_name_never_carries_an_unknown_method(method: str | None, route: str | None) -> None:
    first = request_span_name(method, route).split(" ", 1)[0]
    assert first in METHODS | {"HTTP"}


SPANS = {
    ev.RateLimitDecided: "backendkit.ratelimit.check",
    ev.TokenVerified: "backendkit.auth.verify",
    ev.JwksFetched: "backendkit.auth.jwks.fetch",
    ev.IdempotencyBegun: "backendkit.idempotency.begin",
    ev.IdempotencyFinished: "backendkit.idempotency.finish",
    ev.HealthChecked: "backendkit.health.check",
}
ATTRIBUTES = {ev.AccessGuarded, ev.PageServed, ev.CursorRefused, ev.HealthReported}


@given(EVENTS)
def test_an_event_is_a_span_an_attribute_set_or_only_a_count(event: Event) -> None:
    span = span_of(event)
    attributes = attributes_of(event)
    if type(event) in SPANS:
        assert span is not None
        assert span.name == SPANS[type(event)]
        assert attributes == {}
        shown = span.attributes
    else:
        assert span is None
        assert bool(attributes) == (type(event) in ATTRIBUTES)
        shown = attributes
    assert all(key.startswith("backendkit.") and isinstance(value, str) for key, value in shown.items())


def test_what_spans_and_attributes_say() -> None:
    refused = span_of(ev.TokenVerified("refused", "expired", 0.001))
    assert refused is not None
    assert dict(refused.attributes) == {"backendkit.auth.outcome": "refused", "backendkit.auth.reason": "expired"}
    accepted = span_of(ev.TokenVerified("accepted", None, 0.001))
    assert accepted is not None
    assert dict(accepted.attributes) == {"backendkit.auth.outcome": "accepted"}
    assert attributes_of(ev.AccessGuarded("allowed", None)) == {"backendkit.auth.guard": "allowed"}
    assert attributes_of(ev.AccessGuarded("denied", "forbidden")) == {
        "backendkit.auth.guard": "denied",
        "backendkit.auth.reason": "forbidden",
    }
    assert attributes_of(ev.CursorRefused("<script>")) == {"backendkit.pagination.cursor_refused": "other"}
    assert attributes_of(ev.PageServed("cursor")) == {"backendkit.pagination.strategy": "cursor"}
