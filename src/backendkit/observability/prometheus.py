"""Prometheus metrics of every piece's decisions, through ``prometheus-client`` (the ``prometheus`` extra).

One metric per instrument of the catalogue (:data:`~backendkit.observability.INSTRUMENTS`),
named, labelled and bucketed by it::

    from backendkit.observability import observe
    from backendkit.observability.prometheus import PrometheusMetrics

    metrics = PrometheusMetrics()
    observe(metrics)
    # then serve them: metrics_routes(metrics) on your framework, or start_metrics_server(9464)

Several worker processes (gunicorn ``-w``, ``uvicorn --workers``): set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before the server starts, and
every scrape, whichever worker answers it, reports the sum over all of them
(prometheus-client's multiprocess mode). Requests in flight and breakers open are
then summed over the live workers (``livesum``): a breaker count above 0 means at
least one worker has its store's breaker open. Under gunicorn, call
:func:`child_exit` from its ``child_exit`` hook so a dead worker's gauges go with it.

Exemplars: when a span is active, the duration histogram carries its trace id
(``trace_id``) as an OpenMetrics exemplar, shown when the scraper asks for OpenMetrics.
prometheus-client cannot keep exemplars in multiprocess mode: there they are left out.
"""

from __future__ import annotations

import weakref
from typing import Final, Literal, NamedTuple, Union, cast

from backendkit._extras import require

require("prometheus_client", extra="prometheus", module="backendkit.observability.prometheus")

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram  # noqa: E402

from backendkit.context import RequestFacts  # noqa: E402
from backendkit.errors import ConfigurationError  # noqa: E402
from backendkit.observability._core.catalog import (  # noqa: E402
    ACTIVE_REQUESTS,
    INSTRUMENTS,
    REQUEST_DURATION,
    Instrument,
    Measurement,
    measure,
    measure_deprecated,
    measure_request,
    method_label,
    prometheus_base_name,
    prometheus_label,
)
from backendkit.observability._core.events import Event, RequestEnd, RequestStart  # noqa: E402
from backendkit.observability._prometheus_exposition import (  # noqa: E402
    child_exit,
    make_asgi_app,
    make_wsgi_app,
    mark_process_dead,
    multiprocess_dir,
    render,
    require_multiprocess_values,
)
from backendkit.observability._prometheus_server import start_metrics_server  # noqa: E402

try:  # the active span's trace id, for exemplars, when the application uses OpenTelemetry
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - the opentelemetry extra is not installed
    _otel_trace = None  # type: ignore[assignment]

Metric = Union[Counter, Histogram, Gauge]  # noqa: UP007  (a runtime alias, on Python 3.10 too)

_GAUGE_MODE: Final[Literal["livesum"]] = "livesum"
"""Gauges in multiprocess mode: the sum over the live workers (requests in flight, breakers open)."""

_BUILT: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, Metric]] = weakref.WeakKeyDictionary()
"""The metrics already registered per registry: a second PrometheusMetrics on it reuses them."""


def _build(instrument: Instrument, registry: CollectorRegistry) -> Metric:
    name = prometheus_base_name(instrument)
    labels = [prometheus_label(label) for label in instrument.labels]
    if instrument.kind == "counter":
        return Counter(name, instrument.description, labels, registry=registry)
    if instrument.kind == "histogram":
        return Histogram(name, instrument.description, labels, registry=registry, buckets=instrument.buckets)
    return Gauge(name, instrument.description, labels, registry=registry, multiprocess_mode=_GAUGE_MODE)


def _metrics_of(registry: CollectorRegistry) -> dict[str, Metric]:
    """The catalogue's metrics in ``registry``: registered once, then the same objects every time."""
    built = _BUILT.get(registry)
    if built is None:
        built = {}
        try:
            for instrument in INSTRUMENTS:
                built[instrument.name] = _build(instrument, registry)
        except ValueError as exc:  # "Duplicated timeseries": a metric of another's with one of these names
            for metric in built.values():
                registry.unregister(metric)
            raise ConfigurationError(
                f"this registry already has a metric named like one of backendkit's ({exc}); "
                "give PrometheusMetrics a registry of its own"
            ) from exc
        _BUILT[registry] = built
    return built


class _Request(NamedTuple):
    """What ``request_started`` hands over to ``request_finished``: only once it counted the request in flight."""

    facts: RequestFacts
    in_flight: Gauge


class PrometheusMetrics:
    """An observer recording the catalogue's instruments as prometheus-client metrics.

    Args:
        registry: Where the metrics are registered (prometheus-client's default
            registry when ``None``). Building a second ``PrometheusMetrics`` on the
            same registry reuses the metrics the first registered, so an app factory
            may run many times. In multiprocess mode, what is served is every
            process's metrics, whatever the registry.

    Attributes:
        registry: The registry the metrics are in.
        multiprocess: Whether ``PROMETHEUS_MULTIPROC_DIR`` was set when it was built.

    Raises:
        ConfigurationError: ``PROMETHEUS_MULTIPROC_DIR`` is set but is not a directory,
            or was set after ``prometheus_client`` was imported; or ``registry``
            already has a metric of another's named like one of these.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.multiprocess = multiprocess_dir() is not None  # checked first: a wrong directory is refused
        if self.multiprocess:
            require_multiprocess_values()  # set too late, the metrics would be lost without a word
        self.registry = REGISTRY if registry is None else registry
        self._metrics = _metrics_of(self.registry)
        self._children: dict[tuple[str, tuple[str, ...]], Metric] = {}
        self._duration = self._metrics[REQUEST_DURATION.name]

    def __repr__(self) -> str:
        return f"PrometheusMetrics(multiprocess={self.multiprocess})"

    # The Observer protocol ----------------------------------------------------------

    def request_started(self, start: RequestStart) -> _Request:
        """Count the request in flight; the facts (for the exemplar) and the gauge come back at the end."""
        in_flight = cast(Gauge, self._child(ACTIVE_REQUESTS, (method_label(start.facts.method),)))
        in_flight.inc()
        return _Request(start.facts, in_flight)

    def request_finished(self, token: object, end: RequestEnd) -> None:
        """Take the request out of the in-flight gauge; unless it is excluded, record what the request measures."""
        if not isinstance(token, _Request):
            return  # request_started failed for this request (and was logged): nothing was counted in flight
        facts, in_flight = token
        in_flight.dec()
        if end.excluded:
            return
        for measurement in measure_request(end):
            if measurement.instrument is REQUEST_DURATION:
                self._observe_duration(measurement, facts)
            else:
                self._record(measurement)
        for measurement in measure_deprecated(end):
            self._record(measurement)

    def record(self, event: Event) -> None:
        """Record what the catalogue says ``event`` measures."""
        for measurement in measure(event):
            self._record(measurement)

    # Exposition ------------------------------------------------------------------------

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The metrics to serve, in the format ``accept`` asks for; see :func:`render`."""
        return render(accept, self.registry)

    # -------------------------------------------------------------------------------------

    def _child(self, instrument: Instrument, labels: tuple[str, ...]) -> Metric:
        key = (instrument.name, labels)
        child = self._children.get(key)
        if child is None:  # label values are bounded (the catalogue's rule): so is this dict
            child = self._children[key] = self._metrics[instrument.name].labels(*labels)
        return child

    def _record(self, measurement: Measurement) -> None:
        child = self._child(measurement.instrument, measurement.labels)
        if isinstance(child, Histogram):
            child.observe(measurement.value)
        else:  # a counter steps up, an up-down gauge either way
            child.inc(measurement.value)

    def _observe_duration(self, measurement: Measurement, facts: RequestFacts) -> None:
        child = cast(Histogram, self._child(REQUEST_DURATION, measurement.labels))
        trace_id = None if self.multiprocess else _trace_id(facts)
        child.observe(measurement.value, {"trace_id": trace_id} if trace_id is not None else None)


def _trace_id(facts: RequestFacts) -> str | None:
    """The sampled trace the request is part of: the active OpenTelemetry span's, else the request's own."""
    if _otel_trace is not None:
        context = _otel_trace.get_current_span().get_span_context()
        if context.is_valid and context.trace_flags.sampled:
            return _otel_trace.format_trace_id(context.trace_id)
    trace = facts.trace
    return trace.trace_id if trace is not None and trace.sampled else None


__all__ = [
    "PrometheusMetrics",
    "child_exit",
    "make_asgi_app",
    "make_wsgi_app",
    "mark_process_dead",
    "multiprocess_dir",
    "render",
    "start_metrics_server",
]
