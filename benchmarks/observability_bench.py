"""What metrics add to a request: backendkit's observers against the Prometheus and OpenTelemetry peers.

The app is the same everywhere: ``GET /items/{item_id}`` answering ``{"id": 1}`` (a 200, the route
judged) and, for information, ``GET /nowhere`` (a 404). Each contender is its own app, called in-process
through its ASGI or WSGI callable (no server, no sockets), on its own framework:

- FastAPI: prometheus-fastapi-instrumentator (``Instrumentator(registry=...).instrument(app).expose(app)``,
  its default metrics) and opentelemetry-instrumentation-fastapi (``FastAPIInstrumentor.instrument_app(app,
  tracer_provider=..., meter_provider=...)``, its defaults, the receive/send spans included; the same without
  them for information), each against the same ``FastAPI()`` without it;
- Flask: prometheus-flask-exporter (``PrometheusMetrics(app, registry=...)``, its defaults) against the same
  ``Flask`` app without it;
- Django: django-prometheus (``PrometheusBeforeMiddleware`` first and ``PrometheusAfterMiddleware`` last,
  ``django_prometheus`` installed, its ``/metrics`` URL included) against the same ``WSGIHandler`` without
  them;
- backendkit, on each framework: the app with backendkit installed (``install(app)``, ``BackendKit(app)``,
  ``ErrorMiddleware``) and ``observe(observer)`` around each of its samples, against the same app with no
  observer installed. The observers: ``PrometheusMetrics(registry=CollectorRegistry())``, its app serving
  ``/metrics`` with ``metrics_routes`` (as each Prometheus peer serves its own), ``OpenTelemetry(
  tracer_provider=..., meter_provider=...)``, and a do-nothing observer of this file (it counts the requests
  it is told of, nothing else: what the hub and the events cost on their own).

Every Prometheus contender has a registry of its own (django-prometheus: the default one, which it
alone uses here). Every OpenTelemetry contender, peer or backendkit, has the same SDK set-up of its own:
a ``TracerProvider`` whose ``SimpleSpanProcessor`` hands each span to an exporter that counts and drops it,
and a ``MeterProvider`` with an ``InMemoryMetricReader``. Before anything is timed, each contender answers
with the expected status, and each instrumented one shows that it recorded the request (a sample, a span).

"Added" is the median over rounds of (contender - its baseline), the two measured in the same round; the
ratio is the median over rounds of backendkit's added / the peer's added, each on its own baseline (< 1:
backendkit adds less). Target: at most 0.5 against each peer, on the 200. An A/A control, the backendkit
baseline measured twice as two identical apps, gives the noise: the spread of what one adds over the other.

Contenders run in rounds, one sample each per round in an order that turns by one each round; a sample
repeats the request for about --sample seconds. Logging below ERROR is off (``logging.disable``): without
logging configuration, backendkit's access line for a 404 is a warning that Python's last-resort handler
writes to stderr, a write per request that would drown what is measured (a 200's line is not written).

"Nothing configured" (no observer installed) is one attribute check per emission site; in one process
there is no "before" to compare with, so the section ``nothing`` times, with ``hub.observers == ()``, a
``Limit.check`` (memory store), a ``BearerAuth.authenticate`` (HS256) and the check alone, each also with
the do-nothing observer installed (and, for information, with each of backendkit's observers: what one
event costs them); the proof against the code before observability is
``benchmarks/compare_refs.sh`` (see docs/benchmarks.md).

    python benchmarks/observability_bench.py [--rounds 31] [--sample 0.05] [--quick]
        [--only fastapi,flask,django,nothing]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.test.utils import override_settings
from django.urls import include, path
from fastapi import FastAPI
from flask import Flask, jsonify
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import REGISTRY, CollectorRegistry

from backendkit.observability import Event, Observer, RequestEnd, RequestStart, observe
from backendkit.observability._hub import hub
from backendkit.observability.opentelemetry import OpenTelemetry
from backendkit.observability.prometheus import PrometheusMetrics
from benchmarks._harness.http import ASGIDriver, WSGIDriver, http_scope, wsgi_environ
from benchmarks._harness.measure import Runner, Samples, added, differences, measure_ns, repeated, scaled
from benchmarks._harness.run import Run, Summary, add_only, only, parse

PACKAGES = (
    "backendkit",
    "fastapi",
    "starlette",
    "flask",
    "werkzeug",
    "django",
    "prometheus-client",
    "prometheus-fastapi-instrumentator",
    "prometheus-flask-exporter",
    "django-prometheus",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-instrumentation-fastapi",
    "opentelemetry-instrumentation-asgi",
)
SECTIONS = ("fastapi", "flask", "django", "nothing")
CASES = {"200": "/items/1", "404": "/nowhere"}  # name: path; the 200 is judged, the 404 is for information
TARGET = 0.5  # backendkit's added / the peer's added, at most

BASE = "backendkit, no observer"
BASE_AA = "backendkit, no observer (A/A control)"
NULL = "backendkit + do-nothing observer"
BK_PROMETHEUS = "backendkit + PrometheusMetrics"
BK_OTEL = "backendkit + OpenTelemetry"
PLAIN = "plain"


# --- the observers' set-ups -------------------------------------------------------------------------------
class DoNothing:
    """An observer that records nothing: what the hub, the events and the request's two calls cost alone."""

    def __init__(self) -> None:
        self.requests = 0

    def request_started(self, start: RequestStart) -> object:
        return None

    def request_finished(self, token: object, end: RequestEnd) -> None:
        self.requests += 1

    def record(self, event: Event) -> None:
        pass


class Dropped(SpanExporter):
    """A span exporter that counts the spans it is given and keeps none (memory stays flat over a run)."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


@dataclass
class Sdk:
    """One OpenTelemetry SDK set-up: the same for every OpenTelemetry contender, each its own."""

    exporter: Dropped = field(default_factory=Dropped)
    reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)

    def __post_init__(self) -> None:
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def recorded(self) -> float:
        """Spans exported, plus the data points of the metrics read now (both grow with every request)."""
        data = self.reader.get_metrics_data()
        points = 0.0
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        points += getattr(point, "count", None) or getattr(point, "value", 0)
        return self.exporter.spans + points


def samples_total(registry: CollectorRegistry) -> Callable[[], float]:
    """The sum of a registry's ``_total`` and ``_count`` samples: it grows with every request counted."""

    def total() -> float:
        return sum(
            sample.value
            for metric in registry.collect()
            for sample in metric.samples
            if sample.name.endswith(("_total", "_count"))
        )

    return total


@contextlib.contextmanager
def observing(observer: Observer | None) -> Iterator[None]:
    if observer is None:
        yield
        return
    with observe(observer):
        yield


def observed(run: Runner, observer: Observer) -> Runner:
    """``run`` with ``observer`` installed around it (and the observers before put back after)."""

    def run_n(n: int) -> None:
        with observe(observer):
            run(n)

    return run_n


# --- the contenders -------------------------------------------------------------------------------------
@dataclass
class Contender:
    """One app to time: ``base`` is the contender it adds to; ``observer`` is installed around its samples."""

    name: str
    app: Any
    base: str | None = None
    observer: Observer | None = None
    recorded: Callable[[], float] | None = None  # grows when the instrumentation saw a request
    peer_of: str | None = None  # for a peer: the backendkit contender judged against it


def backendkit_contenders(build: Callable[[PrometheusMetrics | None], Any]) -> list[Contender]:
    """The backendkit baseline, its A/A control, and the same app with each observer.

    ``build(metrics)`` makes the app; given ``metrics``, it also serves them at ``/metrics`` as documented
    (``metrics_routes``), as each Prometheus peer serves its own.
    """
    null = DoNothing()
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry=registry)
    sdk = Sdk()
    otel = OpenTelemetry(tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider)
    return [
        Contender(BASE, build(None)),
        Contender(BASE_AA, build(None), base=BASE),
        Contender(NULL, build(None), base=BASE, observer=null, recorded=lambda: null.requests),
        Contender(BK_PROMETHEUS, build(metrics), base=BASE, observer=metrics, recorded=samples_total(registry)),
        Contender(BK_OTEL, build(None), base=BASE, observer=otel, recorded=sdk.recorded),
    ]


# FastAPI
def fastapi_app(*, backendkit: bool = False, metrics: PrometheusMetrics | None = None) -> FastAPI:
    app = FastAPI()
    if backendkit:
        from backendkit.fastapi import install

        install(app)

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    if metrics is not None:
        from backendkit.fastapi.metrics import metrics_routes

        metrics_routes(metrics, app=app)
    return app


def fastapi_contenders() -> list[Contender]:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from prometheus_fastapi_instrumentator import Instrumentator

    contenders = [Contender(PLAIN, fastapi_app())]
    registry = CollectorRegistry()
    app = fastapi_app()
    Instrumentator(registry=registry).instrument(app).expose(app)
    instrumentator = "prometheus-fastapi-instrumentator"
    contenders.append(Contender(instrumentator, app, PLAIN, recorded=samples_total(registry), peer_of=BK_PROMETHEUS))
    for name, exclude in (
        ("opentelemetry-instrumentation-fastapi", None),
        ("opentelemetry-instrumentation-fastapi, no receive/send spans (info)", ["receive", "send"]),
    ):
        sdk, app = Sdk(), fastapi_app()
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider, exclude_spans=exclude
        )
        contenders.append(Contender(name, app, PLAIN, recorded=sdk.recorded, peer_of=None if exclude else BK_OTEL))
    return contenders + backendkit_contenders(lambda metrics: fastapi_app(backendkit=True, metrics=metrics))


# Flask
def flask_app(*, backendkit: bool = False, metrics: PrometheusMetrics | None = None) -> Flask:
    app = Flask("bench")
    if backendkit:
        from backendkit.flask import BackendKit

        BackendKit(app)

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> Any:
        return jsonify(id=item_id)

    if metrics is not None:
        from backendkit.flask.metrics import metrics_routes

        app.register_blueprint(metrics_routes(metrics))
    return app


def flask_contenders() -> list[Contender]:
    from prometheus_flask_exporter import PrometheusMetrics as FlaskExporter

    registry = CollectorRegistry()
    app = flask_app()
    FlaskExporter(app, registry=registry)
    return [
        Contender(PLAIN, flask_app()),
        Contender("prometheus-flask-exporter", app, PLAIN, recorded=samples_total(registry), peer_of=BK_PROMETHEUS),
        *backendkit_contenders(lambda metrics: flask_app(backendkit=True, metrics=metrics)),
    ]


# Django
def get_item(request: HttpRequest, item_id: int) -> JsonResponse:
    return JsonResponse({"id": item_id})


class Site(WSGIHandler):
    """A WSGI handler with its own middleware list and its own URLconf (one per contender)."""

    def __init__(self, middleware: list[str], more: Sequence[Any] = ()) -> None:
        with override_settings(MIDDLEWARE=middleware):  # read once, here, by load_middleware
            super().__init__()
        self.urlconf = types.ModuleType(f"observability_bench_urls_{id(self)}")
        self.urlconf.urlpatterns = [path("items/<int:item_id>", get_item), *more]  # type: ignore[attr-defined]

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        request.urlconf = self.urlconf
        return super().get_response(request)


def setup_django() -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["localhost"],
        ROOT_URLCONF="benchmarks._django_urls_plain",  # unused: each Site sets its own
        INSTALLED_APPS=["backendkit.django", "django_prometheus"],
        MIDDLEWARE=[],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()
    logging.getLogger("django.request").disabled = True  # its "Not Found" warnings, as errors_bench does


def backendkit_site(metrics: PrometheusMetrics | None) -> Site:
    from backendkit.django.metrics import metrics_routes

    return Site(["backendkit.django.ErrorMiddleware"], metrics_routes(metrics) if metrics is not None else ())


def django_contenders() -> list[Contender]:
    before = "django_prometheus.middleware.PrometheusBeforeMiddleware"
    after = "django_prometheus.middleware.PrometheusAfterMiddleware"
    peer = Site([before, after], [path("", include("django_prometheus.urls"))])
    return [
        Contender(PLAIN, Site([])),
        Contender("django-prometheus", peer, PLAIN, recorded=samples_total(REGISTRY), peer_of=BK_PROMETHEUS),
        *backendkit_contenders(backendkit_site),
    ]


# --- timing ---------------------------------------------------------------------------------------------
HEADERS = [(b"host", b"bench"), (b"accept", b"application/json")]


def driver(app: Any, route: str, loop: asyncio.AbstractEventLoop | None) -> ASGIDriver | WSGIDriver:
    if loop is not None:
        return ASGIDriver(app, http_scope("GET", route, HEADERS), loop)
    environ = wsgi_environ("GET", route, HTTP_HOST="localhost", HTTP_ACCEPT="application/json", REMOTE_ADDR="127.0.0.1")
    return WSGIDriver(app, environ)


def checked(contender: Contender, client: ASGIDriver | WSGIDriver, status: int) -> None:
    """The contender answers ``status``, and (if instrumented) records the request."""
    for _ in range(2):  # the first request may build what later ones reuse
        before = contender.recorded() if contender.recorded else 0.0
        with observing(contender.observer):
            answer = client.request()
        assert answer.status == status, (contender.name, answer)
        if contender.recorded is not None:
            assert contender.recorded() > before, f"{contender.name} recorded nothing of a request"


def runner(contender: Contender, client: ASGIDriver | WSGIDriver) -> Runner:
    return client.run if contender.observer is None else observed(client.run, contender.observer)


def spread(values: list[float]) -> float:
    """Half the interquartile range."""
    if len(values) < 2:
        return 0.0
    quartiles = statistics.quantiles(values, n=4)
    return (quartiles[2] - quartiles[0]) / 2


def added_ratio(samples: Samples, mine: Contender, peer: Contender) -> float | None:
    """The median over rounds of mine's added / the peer's, each on its own baseline (rounds where the peer adds)."""
    assert mine.base is not None
    assert peer.base is not None
    ours = differences(samples, mine.name, mine.base)
    theirs = differences(samples, peer.name, peer.base)
    ratios = [o / t for o, t in zip(ours, theirs, strict=True) if t > 0]
    return statistics.median(ratios) if ratios else None


def section(framework: str, contenders: list[Contender], args: argparse.Namespace, summary: Summary) -> None:
    loop = asyncio.new_event_loop() if framework == "FastAPI" else None
    for case, route in CASES.items():
        status = int(case)
        clients = {c.name: driver(c.app, route, loop) for c in contenders}
        for contender in contenders:
            checked(contender, clients[contender.name], status)
        runners = {c.name: runner(c, clients[c.name]) for c in contenders}
        samples = scaled(measure_ns(runners, args.rounds, args.sample, least=20, warmup=200), 1000)
        judged = case == "200"
        print(f"{framework}, GET {route} ({case}{'' if judged else ', for information'}); us per request,")
        print(f"  median of {args.rounds} rounds; added: the median over rounds of (contender - its baseline)")
        print(f"  {'':<70}{'median':>9}{'best':>9}{'added':>9}{'+-':>7}   baseline")
        for c in contenders:
            values = samples[c.name]
            line = f"  {c.name:<70}{statistics.median(values):>9.2f}{min(values):>9.2f}"
            if c.base is not None:
                diffs = differences(samples, c.name, c.base)
                line += f"{statistics.median(diffs):>+9.2f}{spread(diffs):>7.2f}   {c.base}"
            print(line)
        noise = differences(samples, BASE_AA, BASE)
        print(
            f"  noise (A/A control): {statistics.median(noise):+.2f} us, half-IQR {spread(noise):.2f} us"
            "  (+-: the half-IQR of each contender's per-round added)"
        )
        summary.note(
            f"{framework} {case}: A/A control added",
            f"{statistics.median(noise):+.2f} us (half-IQR {spread(noise):.2f})",
        )
        by_name = {c.name: c for c in contenders}
        summary.note(f"{framework} {case}: do-nothing observer added", f"{added(samples, NULL, BASE):+.2f} us")
        for peer in contenders:
            if peer.peer_of is None:
                continue
            label = f"{framework} {case}: {peer.peer_of.removeprefix('backendkit + ')} added / {peer.name}'s"
            mine = by_name[peer.peer_of]
            theirs = added(samples, peer.name, PLAIN)
            value = added_ratio(samples, mine, peer)
            ours = added(samples, mine.name, BASE)
            shown = "n/a" if value is None else f"{value:.2f}"
            figure = f"{shown} ({ours:.2f} vs {theirs:.2f} us)"
            print(f"  {mine.name} added / {peer.name} added: {figure}")
            if judged:
                summary.judge(f"{label} <= {TARGET}", figure, None if value is None else value <= TARGET)
            else:
                summary.note(label, figure)
        for c in contenders:
            if c.peer_of is None and c.base == PLAIN:
                summary.note(f"{framework} {case}: {c.name} added", f"{added(samples, c.name, PLAIN):.2f} us")
        print()
    if loop is not None:
        loop.close()


# --- nothing configured ---------------------------------------------------------------------------------
def nothing_section(args: argparse.Namespace, summary: Summary) -> None:
    """The emission checks with no observer, next to the same calls with an observer installed."""
    from backendkit.auth import BearerAuth, HMACKey, JWTVerifier, issue
    from backendkit.ratelimit import Limit
    from backendkit.ratelimit._core.keys import RequestInfo

    limit = Limit("1000000000/minute")
    request = RequestInfo(method="GET", path="/items/1", peer="127.0.0.1", headers=lambda name: [], native=None)
    key = HMACKey("bench-hs256-secret-of-forty-two-bytes-long")
    auth = BearerAuth(JWTVerifier([key]))
    authorization = "Bearer " + issue(key, "u1", lifetime=3600)
    assert limit.check(request, per_route=False) is not None
    assert auth.authenticate(authorization).subject == "u1"

    def check_alone() -> None:
        if hub.observers:
            pass

    def nothing() -> None:
        pass

    calls = {
        "Limit.check (memory store)": lambda: limit.check(request, per_route=False),
        "BearerAuth.authenticate (HS256)": lambda: auth.authenticate(authorization),
    }
    sdk = Sdk()
    observers: dict[str, Observer] = {
        "do-nothing observer": DoNothing(),
        "PrometheusMetrics (info)": PrometheusMetrics(registry=CollectorRegistry()),
        "OpenTelemetry (info)": OpenTelemetry(tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider),
    }
    runners: dict[str, Runner] = {}
    for name, call in calls.items():
        runners[f"{name}, no observer"] = repeated(call)
        for kind, observer in observers.items():
            runners[f"{name}, {kind}"] = observed(repeated(call), observer)
    alone, empty = "the check alone: a function doing `if hub.observers: pass`", "an empty function, for scale"
    runners[alone] = repeated(check_alone)
    runners[empty] = repeated(nothing)
    assert not hub.observers
    samples = measure_ns(runners, args.rounds, args.sample / 2, least=100, warmup=1000)
    print(f"nothing configured (hub.observers == ()); ns per call, median of {args.rounds} rounds; added: over the")
    print("  same call with no observer (for the empty function's line: the check's over the empty one)")
    print(f"  {'':<70}{'median':>9}{'best':>9}{'added':>9}")
    for name, values in samples.items():
        base = empty if name == alone else next((f"{c}, no observer" for c in calls if name.startswith(c)), None)
        more = f"{added(samples, name, base):>+9.0f}" if base is not None and base != name else ""
        print(f"  {name:<70}{statistics.median(values):>9.0f}{min(values):>9.0f}{more}")
    check = added(samples, alone, empty)
    print(f"  the check itself: {check:+.1f} ns (the check's function minus the empty one)")
    summary.note("nothing configured: one emission check", f"{check:+.1f} ns")
    for name in calls:
        none = statistics.median(samples[f"{name}, no observer"])
        events = added(samples, f"{name}, do-nothing observer", f"{name}, no observer")
        summary.note(f"nothing configured: {name}", f"{none:.0f} ns; an observer's event adds {events:+.0f} ns")
    print()


# --- main -----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--sample", type=float, default=0.05, help="seconds each sample lasts (about)")
    add_only(parser, SECTIONS)
    args = parse(parser, quick={"rounds": 3, "sample": 0.01})
    sections = only(parser, args, SECTIONS)

    setup_django()
    run = Run(PACKAGES)
    run.header()
    summary = Summary(unknown="NOT MEASURED")
    builders = {"fastapi": ("FastAPI", fastapi_contenders), "flask": ("Flask", flask_contenders)}
    builders["django"] = ("Django", django_contenders)
    logging.disable(logging.WARNING)
    for name in sections:
        if name == "nothing":
            nothing_section(args, summary)
            continue
        framework, build = builders[name]
        section(framework, build(), args, summary)
    summary.print("summary (ratios: the median of per-round ratios of what each adds; < 1: backendkit adds less)")
    run.footer()


if __name__ == "__main__":
    main()
