"""/readyz with three checks against fastapi-health and django-health-check; a cached answer against a plain route.

The checks: two that return at once and one that sleeps 20 ms (``asyncio.sleep`` in the
async checks the FastAPI contenders run, ``time.sleep`` in the sync ones the Django
contenders run). Every contender runs the same three functions:

- backendkit FastAPI: ``health_routes(Health(interval=0), app=app)``, so every request runs the checks;
- fastapi-health: ``app.add_api_route("/readyz", health([...]))``, the checks as its conditions;
- backendkit Django: ``health_routes(Health(interval=0))``, sync views, the sync checks on the
  health object's thread pool;
- django-health-check: ``HealthCheckView.as_view(checks=[...])`` with three custom ``HealthCheck``
  subclasses whose sync ``run`` does the same (asked for JSON with ``Accept: application/json``).

Each FastAPI contender is its own ``FastAPI()`` with ``backendkit.fastapi.install(app)``, called
in-process through its ASGI callable on one event loop (no server, no sockets). Each Django
contender is its own ``WSGIHandler`` with ``MIDDLEWARE = ["backendkit.django.ErrorMiddleware"]``
and its own URLconf, called through the WSGI callable (not the test client, which adds its
own work). The probe is served at ``/readyz`` everywhere, as deployed; logging is left as a
process without logging configuration has it.

A second case, for information, has three checks of 20 ms each: there the slowest check (20
ms) and the sum (60 ms) differ, so it tells a contender that runs its checks concurrently
from one that runs them one after the other (with one slow check both are about 20 ms).

Then a cached answer (``Health(interval=3600)``, the report computed once) against a plain JSON
route of the same framework behind the same backendkit set-up: FastAPI ``@app.get("/plain")``
(``async def``, returning ``{"status": "pass"}``), Django a view returning
``JsonResponse({"status": "pass"})``. The plain route is measured twice, as two identical apps
(an A/A control): the spread of their per-round ratio is the noise the target allows; the
target is cached / plain <= 1 + noise. For information, the plain route is also measured inside
an included ``APIRouter`` (``health_routes(health)`` is one, and FastAPI charges for the nesting: for information), and
the parts of backendkit's cached answer are timed alone (the report, the body, the query read).

Contenders run in rounds, one sample each per round in a rotating order; a sample repeats the
request for about --sample seconds (the 20 ms cases: at least 2 requests). The median round is
reported (the best beside); a ratio is the median over rounds of peer / backendkit measured in
the same round (> 1: backendkit is faster).

    python benchmarks/health_bench.py [--rounds 21] [--fast-rounds 31] [--sample 0.1] [--quick]
        [--only readyz,slow,cached]
    python -m benchmarks.health_bench --quick
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import os
import statistics
import sys
import time
import types
from collections import Counter
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import django
import fastapi_health
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.urls import path
from fastapi import APIRouter, FastAPI, Request
from health_check.base import HealthCheck
from health_check.views import HealthCheckView

from backendkit.django.health import health_routes as django_health_routes
from backendkit.fastapi import install
from backendkit.fastapi.health import health_routes
from backendkit.health import Health
from benchmarks._harness.http import ASGIDriver, Response, WSGIDriver, http_scope, wsgi_environ
from benchmarks._harness.measure import Runner, Samples, measure_ns, print_rows, ratio, repeated, scaled
from benchmarks._harness.run import Run, Summary, add_only, only, parse

PACKAGES = (
    "backendkit",
    "fastapi",
    "starlette",
    "fastapi-health",
    "django",
    "django-health-check",
    "asgiref",
)
SECTIONS = ("readyz", "slow", "cached")
HEADERS = [(b"host", b"bench"), (b"accept", b"application/json")]
SLOW_S = 0.020
ONLY_READY = {"live": None, "startup": None, "healthz": None}  # health_routes: /readyz alone

BK_FASTAPI = "backendkit FastAPI (interval 0)"
FASTAPI_HEALTH = "fastapi-health"
BK_DJANGO = "backendkit Django (interval 0)"
DJANGO_HEALTH_CHECK = "django-health-check"
PEERS = ((FASTAPI_HEALTH, BK_FASTAPI), (DJANGO_HEALTH_CHECK, BK_DJANGO))


def setup_django() -> None:
    """Settings of the run's own: backendkit's middleware first, both apps installed, no database."""
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["localhost"],
        ROOT_URLCONF="benchmarks._django_urls_plain",  # unused: each Site sets its own
        INSTALLED_APPS=["backendkit.django", "health_check"],
        MIDDLEWARE=["backendkit.django.ErrorMiddleware"],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()


# --- the checks -------------------------------------------------------------------------------------------
class Checks:
    """One set of checks, ``(name, seconds)`` each, as async and sync functions that count their calls."""

    def __init__(self, spec: tuple[tuple[str, float], ...]) -> None:
        self.spec = spec
        self.calls: Counter[str] = Counter()
        self.async_functions = [self._async(name, seconds) for name, seconds in spec]
        self.sync_functions = [self._sync(name, seconds) for name, seconds in spec]

    def _async(self, name: str, seconds: float) -> Callable[[], Any]:
        calls = self.calls

        async def check() -> bool:
            calls[name] += 1
            if seconds:
                await asyncio.sleep(seconds)
            return True

        check.__name__ = check.__qualname__ = name  # fastapi-health names a dependency after its function
        return check

    def _sync(self, name: str, seconds: float) -> Callable[[], Any]:
        calls = self.calls

        def check() -> bool:
            calls[name] += 1
            if seconds:
                time.sleep(seconds)
            return True

        check.__name__ = check.__qualname__ = name
        return check

    @property
    def slowest_ms(self) -> float:
        return max(seconds for _, seconds in self.spec) * 1000

    @property
    def sum_ms(self) -> float:
        return sum(seconds for _, seconds in self.spec) * 1000

    def health(self, interval: float, *, sync: bool) -> Health:
        health = Health(interval=interval)
        for (name, _), check in zip(self.spec, self.sync_functions if sync else self.async_functions, strict=True):
            health.add(name, check)
        return health

    def django_health_checks(self) -> list[type[HealthCheck]]:
        """django-health-check backends: ``HealthCheck`` subclasses whose sync ``run`` calls the check."""
        backends: list[type[HealthCheck]] = []
        for (name, _), check in zip(self.spec, self.sync_functions, strict=True):

            def run(self: HealthCheck, check: Callable[[], Any] = check) -> None:
                check()

            backend = type(f"{name.title().replace('_', '')}Check", (HealthCheck,), {"run": run})
            backends.append(dataclasses.dataclass(backend))
        return backends


THREE = (("first_fast", 0.0), ("second_fast", 0.0), ("slow", SLOW_S))
THREE_SLOW = (("slow_a", SLOW_S), ("slow_b", SLOW_S), ("slow_c", SLOW_S))


# --- FastAPI through its ASGI callable ------------------------------------------------------------------
def fastapi_app() -> FastAPI:
    app = FastAPI()
    install(app)
    return app


def bk_fastapi(health: Health) -> FastAPI:
    app = fastapi_app()
    health_routes(health, paths=ONLY_READY, app=app)  # on the app itself, as the docs advise
    return app


def fastapi_health_app(checks: Checks) -> FastAPI:
    app = fastapi_app()
    app.add_api_route("/readyz", fastapi_health.health(checks.async_functions))
    return app


def plain_fastapi(*, router: bool = False) -> FastAPI:
    """``GET /plain`` answering ``{"status": "pass"}``: on the app, or (``router``) in an included ``APIRouter``."""
    app = fastapi_app()
    routes: FastAPI | APIRouter = APIRouter() if router else app

    @routes.get("/plain")
    async def plain() -> dict[str, str]:
        return {"status": "pass"}

    if router:
        app.include_router(routes)
    return app


def asgi(app: Any, loop: asyncio.AbstractEventLoop, route: str) -> ASGIDriver:
    """``GET route`` sent straight into an ASGI app on ``loop``."""
    return ASGIDriver(app, http_scope("GET", route, HEADERS), loop)


# --- Django through its WSGI callable -------------------------------------------------------------------
class Site(WSGIHandler):
    """A WSGI handler serving its own URLconf (one per contender, each probe at ``/readyz``)."""

    def __init__(self, urlpatterns: list[Any]) -> None:
        super().__init__()
        self.urlconf = types.ModuleType(f"health_bench_urls_{id(self)}")
        self.urlconf.urlpatterns = urlpatterns  # type: ignore[attr-defined]

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        request.urlconf = self.urlconf  # what a middleware setting request.urlconf does, before the middleware
        return super().get_response(request)


def plain_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "pass"})


def bk_django(health: Health) -> Site:
    return Site(django_health_routes(health, paths=ONLY_READY))


def django_health_check_site(checks: Checks) -> Site:
    return Site([path("readyz", HealthCheckView.as_view(checks=checks.django_health_checks()))])


def plain_django() -> Site:
    return Site([path("plain", plain_view)])


def wsgi(app: Any, route: str) -> WSGIDriver:
    """``GET route`` sent straight into a WSGI callable."""
    environ = wsgi_environ("GET", route, HTTP_HOST="localhost", HTTP_ACCEPT="application/json")
    environ["wsgi.multithread"] = True
    return WSGIDriver(app, environ)


# --- /readyz with the checks run every request ----------------------------------------------------------
def expect(label: str, answer: Response, checks: Checks, before: Counter[str], ran: bool) -> None:
    status, _, body = answer
    assert status == 200, (label, status, body)
    json.loads(body)
    ran_each = {name: checks.calls[name] - before[name] for name, _ in checks.spec}
    wanted = 1 if ran else 0
    assert all(count == wanted for count in ran_each.values()), (label, ran_each)


def readyz_runners(checks: Checks, loop: asyncio.AbstractEventLoop) -> dict[str, Runner]:
    clients: dict[str, ASGIDriver | WSGIDriver] = {
        BK_FASTAPI: asgi(bk_fastapi(checks.health(0, sync=False)), loop, "/readyz"),
        FASTAPI_HEALTH: asgi(fastapi_health_app(checks), loop, "/readyz"),
        BK_DJANGO: wsgi(bk_django(checks.health(0, sync=True)), "/readyz"),
        DJANGO_HEALTH_CHECK: wsgi(django_health_check_site(checks), "/readyz"),
    }
    for label, client in clients.items():  # each answers 200 with JSON, and ran every check once
        for _ in range(2):
            before = Counter(checks.calls)
            expect(label, client.request(), checks, before, ran=True)
    return {label: client.run for label, client in clients.items()}


def readyz_section(title: str, spec: tuple[tuple[str, float], ...], args: argparse.Namespace, summary: Summary) -> None:
    checks = Checks(spec)
    loop = asyncio.new_event_loop()
    runners = readyz_runners(checks, loop)
    samples = scaled(measure_ns(runners, args.rounds, args.sample, least=2, warmup=2), 1e6)
    loop.close()
    slowest, total = checks.slowest_ms, checks.sum_ms
    kinds = ", ".join(f"{seconds * 1000:g} ms" for _, seconds in spec)
    print(f"{title}: GET /readyz, checks of {kinds} (slowest {slowest:g} ms, sum {total:g} ms)")
    print(f"  ms per request, median of {args.rounds} rounds; the checks run on every request")
    header = f"  {'':<34}{'median':>9}{'best':>9}{'- slowest':>11}{'- sum':>9}{'/ bk':>8}   runs the checks"
    print(header)
    bases = {FASTAPI_HEALTH: BK_FASTAPI, DJANGO_HEALTH_CHECK: BK_DJANGO}
    verdicts: dict[str, str] = {}
    for name, values in samples.items():
        m = statistics.median(values)
        # Concurrent: about the slowest check; sequential: about the sum. Only a case where they differ can tell.
        if total - slowest < 5:
            how = "(cannot tell: slowest = sum)"
        else:
            how = "concurrently" if m < (slowest + total) / 2 else "one after the other"
        verdicts[name] = how
        against = f"{ratio(samples, name, bases[name]):>7.2f}x" if name in bases else f"{'':>8}"
        print(f"  {name:<34}{m:>9.2f}{min(values):>9.2f}{m - slowest:>+11.2f}{m - total:>+9.2f}{against}   {how}")
    print(
        "  fastapi-health: the conditions are FastAPI dependencies, solved one after the other;"
        " django-health-check 4.x:\n  an async view gathering its checks (sync ones in the loop's default executor),"
        " which Django runs under\n  WSGI through asgiref's async_to_sync: a new event loop (and executor) per request"
    )
    print()
    for peer, base in PEERS:
        value = ratio(samples, peer, base)
        summary.judge(f"{title}: {peer} / {base}", f"{value:.2f}x", None)
    for name in (BK_FASTAPI, BK_DJANGO):
        m = statistics.median(samples[name])
        ok = m <= slowest * 1.10 + 1.0  # about the slowest check: within 10% and a millisecond of it
        summary.judge(f"{title}: {name} <= slowest x 1.1 + 1 ms", f"{m:.2f} ms vs {slowest:g} ms", ok)
    if total - slowest >= 5:
        for peer, _ in PEERS:
            summary.judge(f"{title}: {peer} runs its checks", verdicts[peer], None)


# --- a cached answer against a plain JSON route ---------------------------------------------------------
FASTAPI_BATCH = 20  # requests per run_until_complete: the loop's own cost is spread over them
PLAIN_FASTAPI = "FastAPI plain GET /plain"
PLAIN_FASTAPI_AA = "FastAPI plain GET /plain (A/A control)"
PLAIN_FASTAPI_ROUTER = "FastAPI plain GET /plain, in an APIRouter (info)"
CACHED_FASTAPI = "backendkit FastAPI /readyz, cached"
PLAIN_DJANGO = "Django plain GET /plain"
PLAIN_DJANGO_AA = "Django plain GET /plain (A/A control)"
CACHED_DJANGO = "backendkit Django /readyz, cached"
CACHED = (
    ("FastAPI", CACHED_FASTAPI, PLAIN_FASTAPI, PLAIN_FASTAPI_AA, (PLAIN_FASTAPI_ROUTER,)),
    ("Django", CACHED_DJANGO, PLAIN_DJANGO, PLAIN_DJANGO_AA, ()),
)


def noise_of(samples: Samples, control: str, base: str) -> float:
    """How far two identical routes' per-round ratio strays from 1: its median's offset and half its IQR (>= 1%)."""
    ratios = sorted(c / b for c, b in zip(samples[control], samples[base], strict=True))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return max(0.01, abs(statistics.median(ratios) - 1) + (quartiles[2] - quartiles[0]) / 2)


def cached_section(args: argparse.Namespace, summary: Summary) -> None:
    checks = Checks(THREE)
    loop = asyncio.new_event_loop()
    fastapi_cached = checks.health(3600, sync=False)
    django_cached = checks.health(3600, sync=True)
    asgis = {
        PLAIN_FASTAPI: asgi(plain_fastapi(), loop, "/plain"),
        PLAIN_FASTAPI_AA: asgi(plain_fastapi(), loop, "/plain"),
        PLAIN_FASTAPI_ROUTER: asgi(plain_fastapi(router=True), loop, "/plain"),
        CACHED_FASTAPI: asgi(bk_fastapi(fastapi_cached), loop, "/readyz"),
    }
    wsgis = {
        PLAIN_DJANGO: wsgi(plain_django(), "/plain"),
        PLAIN_DJANGO_AA: wsgi(plain_django(), "/plain"),
        CACHED_DJANGO: wsgi(bk_django(django_cached), "/readyz"),
    }
    for label, client in {**asgis, **wsgis}.items():  # the same body; the cached probes ran the checks once only
        first = client.request()
        assert first.status == 200, (label, first)
        assert json.loads(first.body) == {"status": "pass"}, (label, first)
        before = Counter(checks.calls)
        expect(label, client.request(), checks, before, ran=False)

    def batched(client: ASGIDriver) -> Runner:
        return lambda n: client.run(n * FASTAPI_BATCH)

    runners: dict[str, Runner] = {label: batched(client) for label, client in asgis.items()}
    runners |= {label: client.run for label, client in wsgis.items()}
    raw = measure_ns(runners, args.fast_rounds, args.sample / 2, least=5, warmup=50)
    samples = {
        name: [value / (FASTAPI_BATCH if name in asgis else 1) / 1000 for value in values]
        for name, values in raw.items()
    }
    loop.close()

    print(
        f"a cached /readyz (Health(interval=3600)) against a plain JSON route; us per request, median of "
        f"{args.fast_rounds} rounds"
    )
    print("  every app has backendkit installed (FastAPI: install(app); Django: ErrorMiddleware); the same body")
    print(f"  {{'status': 'pass'}}; FastAPI: {FASTAPI_BATCH} requests per run_until_complete; added: the median over")
    print("  rounds of what the route costs over the plain one")
    print(f"  {'':<52}{'median':>9}{'best':>9}{'/ plain':>9}{'added':>9}")
    for framework, cached, plain, control, info in CACHED:
        for name in (plain, control, *info, cached):
            values = samples[name]
            added = statistics.median(c - p for c, p in zip(values, samples[plain], strict=True))
            print(
                f"  {name:<52}{statistics.median(values):>9.2f}{min(values):>9.2f}"
                f"{ratio(samples, name, plain):>8.2f}x{added:>+9.2f}"
            )
        if info:  # what FastAPI charges for a route of an included router (health_routes(health)'s), for information
            router = statistics.median(r - p for r, p in zip(samples[info[0]], samples[plain], strict=True))
            print(f"  {framework}: a route of an included router costs {router:+.2f} us more (info)")
        noise = noise_of(samples, control, plain)
        value = ratio(samples, cached, plain)
        ok = value <= 1 + noise
        print(
            f"  {framework}: cached / plain {value:.3f}x; noise (A/A) {noise:.1%}; target <= {1 + noise:.3f}x"
            f"  {'PASS' if ok else 'MISS'}"
        )
        summary.judge(
            f"{framework}: cached /readyz <= plain route x (1 + noise)", f"{value:.3f}x (noise {noise:.1%})", ok
        )
    print()
    cached_parts(fastapi_cached, django_cached, args)


def cached_parts(fastapi_cached: Health, django_cached: Health, args: argparse.Namespace) -> None:
    """Where a cached answer's time goes in backendkit's endpoints: the report, the query read, the body.

    The FastAPI endpoint (``backendkit.starlette.health.endpoint``) awaits ``areport``, reads
    ``request.url.query`` and calls ``Health.response``, which builds and JSON-encodes the body
    on every request; the Django view does the same with ``report`` and ``QUERY_STRING``.
    """
    loop = asyncio.new_event_loop()
    report = django_cached.ready()
    scope = http_scope("GET", "/readyz", HEADERS)

    async def areport(n: int) -> None:
        for _ in range(n):
            await fastapi_cached.areport("ready")

    parts: dict[str, Runner] = {
        "Health.areport('ready'), cached (awaited)": lambda n: loop.run_until_complete(areport(n)),
        "Health.report('ready'), cached": repeated(functools.partial(django_cached.report, "ready")),
        "Health.response(report, ''): body built, encoded": repeated(
            functools.partial(django_cached.response, report, "")
        ),
        "Request(scope).url.query (the endpoint's read)": repeated(lambda: Request(scope).url.query),
        "scope['query_string'].decode() (for scale)": repeated(lambda: scope["query_string"].decode("latin-1")),
    }
    samples = scaled(measure_ns(parts, args.fast_rounds, args.sample / 4, least=20, warmup=200), 1e3)
    loop.close()
    print(f"  the parts of backendkit's cached answer (us per call, median of {args.fast_rounds} rounds):")
    print_rows(samples, width=52, indent="    ")
    print()


# --- main -----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=21, help="rounds of the 20 ms cases")
    parser.add_argument("--fast-rounds", type=int, default=31, help="rounds of the cached-vs-plain case")
    parser.add_argument("--sample", type=float, default=0.1, help="seconds each sample of a 20 ms case lasts (about)")
    add_only(parser, SECTIONS)
    args = parse(parser, quick={"rounds": 3, "fast_rounds": 3, "sample": 0.04})
    sections = only(parser, args, SECTIONS)

    setup_django()
    run = Run(PACKAGES)
    run.header()

    summary = Summary(unknown="info")
    if "readyz" in sections:
        readyz_section("three checks", THREE, args, summary)
    if "slow" in sections:
        readyz_section("info, three slow checks", THREE_SLOW, args, summary)
    if "cached" in sections:
        cached_section(args, summary)

    summary.print("summary (ratios: the median of per-round ratios; > 1: backendkit is faster)")
    run.footer()


if __name__ == "__main__":
    main()
