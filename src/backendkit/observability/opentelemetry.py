"""OpenTelemetry metrics and traces of every request and every piece's decisions, through your providers.

Only ``opentelemetry-api`` is imported here (the ``opentelemetry`` extra): the SDK,
its exporters and their set-up are the application's. Without a provider given,
the global ones are used (``opentelemetry.trace.set_tracer_provider`` and
``opentelemetry.metrics.set_meter_provider``), looked up when a span or a point
is first recorded, so the observer may be built before they are set.

Traces: each request gets a ``SERVER`` span named ``METHOD route-template`` for
every status (only ``METHOD`` when no route matched), continuing the caller's
``traceparent``/``tracestate`` (else the span current when the request starts,
such as one of your own around a call into the app), unless an OpenTelemetry
instrumentation of the framework has already made one: then backendkit adopts
that span and makes no second one, adding its child spans and attributes to it
when it is recorded, and none when the sampler dropped it. The request's log
lines carry the ids of whichever span is the request's, recorded or not.

Metrics: one instrument per catalogue entry. For a request whose span is an
instrumentation's, the request metrics (duration, body sizes, requests in flight)
are left to that instrumentation, so one ``MeterProvider`` never holds two series
of one name; it names them after the conventions it follows (the stable ones with
``OTEL_SEMCONV_STABILITY_OPT_IN=http``). The pieces' metrics are recorded either way.
Attributes are the catalogue's labels, translated as OpenTelemetry's conventions
ask: the status code is a number, and a request no route matched has no
``http.route`` at all (Prometheus, where every series of a metric has the same
labels, gets the catalogue's ``http_route=""``).

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from backendkit.observability import observe
    >>> from backendkit.observability.opentelemetry import OpenTelemetry
    >>> with observe(OpenTelemetry(tracer_provider=TracerProvider())):
    ...     pass  # requests served here are traced and measured
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import Token
from dataclasses import dataclass

from backendkit._extras import require

require("opentelemetry.trace", extra="opentelemetry", module="backendkit.observability.opentelemetry")

from opentelemetry import context as otel_context  # noqa: E402  (after the extra's check)
from opentelemetry import metrics, trace  # noqa: E402
from opentelemetry.context import Context  # noqa: E402
from opentelemetry.metrics import Meter, MeterProvider  # noqa: E402
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider  # noqa: E402
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator  # noqa: E402
from opentelemetry.util.types import AttributeValue  # noqa: E402

import backendkit  # noqa: E402
from backendkit.context import TraceContext  # noqa: E402
from backendkit.observability._core.catalog import (  # noqa: E402
    ACTIVE_REQUESTS,
    INSTRUMENTS,
    Instrument,
    Measurement,
    attributes_of,
    measure,
    measure_deprecated,
    measure_request,
    method_label,
    request_span_name,
    span_of,
)
from backendkit.observability._core.events import Event, RequestEnd, RequestStart  # noqa: E402

SCOPE = "backendkit"
"""The instrumentation scope of every span and instrument backendkit records."""

_STATUS = "http.response.status_code"  # an int in OpenTelemetry's conventions; the catalogue's labels are text
_ROUTE = "http.route"
_PROPAGATOR = TraceContextTextMapPropagator()

Attributes = dict[str, AttributeValue]
Sink = Callable[[float, Attributes], None]


@dataclass(slots=True)
class _Request:
    """What :meth:`OpenTelemetry.request_started` hands back for the end: the span and how to let go of it."""

    span: Span
    adopted: bool  # an instrumentation's: it ends the span and records the request's metrics
    context_token: Token[Context] | None
    active: Attributes | None  # counted in flight with these attributes (never when adopted)
    started_ns: int


class OpenTelemetry:
    """The OpenTelemetry observer: one instrument per catalogue entry, and the request's server span.

    Install it with :func:`backendkit.observability.observe`.

    Args:
        tracer_provider: Where spans go; the global provider when omitted.
        meter_provider: Where metric points go; the global provider when omitted.
    """

    def __init__(
        self, tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None
    ) -> None:
        version = backendkit.__version__
        self._tracer = trace.get_tracer(SCOPE, version, tracer_provider)
        meter = metrics.get_meter(SCOPE, version, meter_provider)
        self._sinks: dict[str, Sink] = {instrument.name: _sink(meter, instrument) for instrument in INSTRUMENTS}
        self._active = self._sinks[ACTIVE_REQUESTS.name]

    def __repr__(self) -> str:
        return "OpenTelemetry()"

    def request_started(self, start: RequestStart) -> _Request:
        """Adopt the instrumentation's span, or start and enter a server span and count the request in flight."""
        current = trace.get_current_span()
        if _instrumentation_s(current):  # it serves and measures this request: no second span, no second series
            _bind_ids(start, current)
            return _Request(current, True, None, None, 0)
        carrier = {"traceparent": start.traceparent, "tracestate": start.tracestate}
        # Into the current context: with no traceparent, an outer span of the application's is the parent.
        parent = _PROPAGATOR.extract(
            {k: v for k, v in carrier.items() if v is not None}, context=otel_context.get_current()
        )
        started_ns = time.time_ns()
        span = self._tracer.start_span(
            request_span_name(start.facts.method, None),  # named again at the end, once the route is known
            context=parent,
            kind=SpanKind.SERVER,
            attributes=_request_attributes(start),
            start_time=started_ns,
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            active: Attributes = {ACTIVE_REQUESTS.labels[0]: method_label(start.facts.method)}
            self._active(1, active)  # last: request_finished decrements exactly the requests counted here
        except BaseException:
            otel_context.detach(token)
            span.end()
            raise
        _bind_ids(start, span)
        return _Request(span, False, token, active, started_ns)

    def request_finished(self, token: object, end: RequestEnd) -> None:
        """Record the request (unless it is left out or adopted), name and end its span, and leave its context."""
        if not isinstance(token, _Request):
            return  # request_started failed for this request (and was logged): nothing was counted or entered
        try:
            if token.active is not None:
                self._active(-1, token.active)
            if not (end.excluded or token.adopted):
                for measurement in measure_request(end):
                    self._record(measurement)
            if not end.excluded:  # backendkit's own counter: recorded under an instrumentation's span too
                for measurement in measure_deprecated(end):
                    self._record(measurement)
        finally:
            try:
                if not token.adopted:
                    _end_span(token.span, end, token.started_ns)
            finally:
                if token.context_token is not None:
                    otel_context.detach(token.context_token)

    def record(self, event: Event) -> None:
        """Record what the event measures; within a traced request, its child span or its attributes."""
        for measurement in measure(event):
            self._record(measurement)
        current = trace.get_current_span()
        if not current.is_recording():  # outside a traced request (a probe left out, a background refresh)
            return
        spec = span_of(event)
        if spec is not None:
            now = time.time_ns()
            took = int(getattr(event, "duration", 0.0) * 1e9)
            child = self._tracer.start_span(spec.name, start_time=now - took, attributes=dict(spec.attributes))
            child.end(end_time=now)
        attributes = attributes_of(event)
        if attributes:
            current.set_attributes(dict(attributes))

    def _record(self, measurement: Measurement) -> None:
        attributes: Attributes = dict(zip(measurement.instrument.labels, measurement.labels, strict=True))
        status = attributes.get(_STATUS)
        if isinstance(status, str) and status.isdigit():
            attributes[_STATUS] = int(status)
        if attributes.get(_ROUTE) == "":  # no route matched: OpenTelemetry leaves the attribute out
            del attributes[_ROUTE]
        self._sinks[measurement.instrument.name](measurement.value, attributes)


def _sink(meter: Meter, instrument: Instrument) -> Sink:
    """The OpenTelemetry instrument for a catalogue entry, as the one call that records on it."""
    if instrument.kind == "histogram":
        return meter.create_histogram(
            instrument.name,
            unit=instrument.unit,
            description=instrument.description,
            explicit_bucket_boundaries_advisory=instrument.buckets,
        ).record
    if instrument.kind == "updown":
        return meter.create_up_down_counter(
            instrument.name, unit=instrument.unit, description=instrument.description
        ).add
    return meter.create_counter(instrument.name, unit=instrument.unit, description=instrument.description).add


def _instrumentation_s(span: Span) -> bool:
    """Whether the current span is an instrumentation's server span for this request, which backendkit adopts.

    A span of this process that is not recording (the sampler dropped it: it has no
    kind to read) or is a ``SERVER`` span. An application's own ``INTERNAL`` span
    around the request, or a caller's context entered without a span of this process
    (remote), is the parent of backendkit's server span instead.
    """
    context = span.get_span_context()
    if not context.is_valid or context.is_remote:
        return False
    return not span.is_recording() or getattr(span, "kind", None) is SpanKind.SERVER


def _request_attributes(start: RequestStart) -> Attributes:
    """What is known of the request when it starts (samplers see these)."""
    method = start.facts.method or ""
    shown = method_label(method)
    attributes: Attributes = {"http.request.method": shown, "url.path": start.path, "url.scheme": start.scheme}
    if shown != method:
        attributes["http.request.method_original"] = method
    if start.facts.client_ip is not None:
        attributes["client.address"] = start.facts.client_ip
    return attributes


def _end_span(span: Span, end: RequestEnd, started_ns: int) -> None:
    """Name the span for its route, say how it was answered, and end it when the response was out."""
    try:
        span.update_name(request_span_name(end.method, end.route))
        attributes: Attributes = {_STATUS: end.status}
        if end.route:
            attributes[_ROUTE] = end.route
        if end.status >= 500 or end.failed:
            attributes["error.type"] = str(end.status) if end.status >= 500 else "_OTHER"
            span.set_status(Status(StatusCode.ERROR))
        span.set_attributes(attributes)
    finally:  # its length is the request's duration, to the last byte sent (not to when the observer is told)
        span.end(end_time=started_ns + max(0, int(end.duration * 1e9)))


def _bind_ids(start: RequestStart, span: Span) -> None:
    """The request's log lines carry the ids of its span (from now on, the access line included)."""
    context = span.get_span_context()
    if context.is_valid:
        start.facts.trace = TraceContext(
            format(context.trace_id, "032x"), format(context.span_id, "016x"), format(context.trace_flags, "02x")
        )


__all__ = ["SCOPE", "OpenTelemetry"]
