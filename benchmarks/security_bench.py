"""What CORS and security headers add to a request and to a preflight: backendkit against the framework tools.

The app is the same everywhere: ``GET /items/{item_id}`` answering ``{"id": 1}``. Each contender is its
own app, called in-process through its ASGI or WSGI callable (no server, no sockets), in four cases:

- ``cors``: a simple cross-origin ``GET`` from the allowed origin (``Origin: https://app.example.com``):
  a 200 with ``Access-Control-Allow-Origin`` (the origin echoed), ``-Allow-Credentials``, ``-Expose-Headers``
  and ``Vary: Origin``;
- ``preflight``: ``OPTIONS`` from that origin with ``Access-Control-Request-Method: PUT`` and
  ``Access-Control-Request-Headers: authorization, content-type, idempotency-key``, answered with the
  allowed methods and headers and ``Access-Control-Max-Age``. The bare apps answer the same ``OPTIONS``
  themselves (FastAPI: an ``OPTIONS`` route answering 204; Flask: its automatic ``OPTIONS``; Django: the
  view), so what a contender adds there is its preflight's cost over a plain answer (less than nothing when
  it answers sooner);
- ``headers``: the same ``GET`` without ``Origin``, the security headers alone;
- ``both`` (for information): the ``GET`` with ``Origin``, CORS and the security headers together.

The contenders, on each framework:

- backendkit: the app with backendkit installed (``install(app, settings=...)``, ``BackendKit(app)``,
  ``ErrorMiddleware``) with ``cors`` set and/or ``security_headers`` left on, against the same app with
  backendkit installed and both off (``cors=None, security_headers=None``): what the feature adds, not
  what backendkit's request ids and logs cost;
- CORS peers: Starlette's ``CORSMiddleware`` (FastAPI), flask-cors (``CORS(app, ...)``), django-cors-headers
  (``CorsMiddleware`` first), each against the same app without it;
- ``secure``: ``SecureASGIMiddleware`` (FastAPI); ``SecureWSGIMiddleware`` around ``app.wsgi_app`` and
  ``set_headers`` in ``after_request`` (Flask, the two ways its README shows); ``SecureWSGIMiddleware``
  around the ``WSGIHandler`` and a Django middleware calling ``set_headers`` (it ships no Django
  middleware), each against the same app without it.

Every contender is configured alike: one allowed origin, credentials, the same allowed methods and request
headers (backendkit's defaults and its request-id header), the same exposed headers, a max age of 600 s;
``secure`` sends the same seven headers with the same values as backendkit's defaults for a JSON API
(``Secure(xcto=..., referrer=..., coop=..., corp=..., permissions=..., xfo=..., csp=...)``). Before
anything is timed, each contender is checked to send the headers of its case, and each baseline to send
none of them.

"Added" is the median over rounds of (contender - its baseline), the two measured in the same round;
beside it, "bests": the contender's best round minus its baseline's best round. Target: in each judged
case (``cors``, ``preflight``, ``headers``), backendkit adds no more than the cheapest peer of that case.
An A/A control, the backendkit baseline measured twice as two identical apps, gives the noise: where the
two differ by less than it, one run decides nothing (run again).

Contenders run in rounds, one sample each per round in an order that turns by one each round; a sample
repeats the request for about --sample seconds. Logging below ERROR is off (``logging.disable``), as in
the other benchmarks: the access log's line is not what is measured.

    python benchmarks/security_bench.py [--rounds 31] [--sample 0.05] [--quick]
        [--only fastapi,flask,django] [--cases cors,preflight,headers,both]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import django
import secure
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.test.utils import override_settings
from django.urls import path
from fastapi import FastAPI, Response
from flask import Flask, jsonify
from secure.middleware import SecureASGIMiddleware, SecureWSGIMiddleware
from starlette.middleware.cors import CORSMiddleware

from backendkit import Settings
from backendkit.security import CORS, DEFAULT_EXPOSED, DEFAULT_HEADERS, DEFAULT_METHODS, SecurityHeaders
from benchmarks._harness.http import ASGIDriver, WSGIDriver, http_scope, wsgi_environ
from benchmarks._harness.http import Response as Answer
from benchmarks._harness.measure import Runner, Samples, differences, measure_ns, scaled
from benchmarks._harness.run import Run, Summary, add_only, only, parse

PACKAGES = (
    "backendkit",
    "fastapi",
    "starlette",
    "flask",
    "werkzeug",
    "django",
    "flask-cors",
    "django-cors-headers",
    "secure",
)
SECTIONS = ("fastapi", "flask", "django")
CASES = ("cors", "preflight", "headers", "both")
JUDGED = ("cors", "preflight", "headers")

ORIGIN = "https://app.example.com"
REQUEST_ID = "X-Request-ID"
METHODS = list(DEFAULT_METHODS)
ALLOW_HEADERS = [*DEFAULT_HEADERS, REQUEST_ID]
EXPOSE = [*DEFAULT_EXPOSED, REQUEST_ID]
MAX_AGE = 600
ASKED_METHOD, ASKED_HEADERS = "PUT", "authorization, content-type, idempotency-key"

BK_CORS = CORS(allow_origins=[ORIGIN], allow_credentials=True, max_age=MAX_AGE)
# backendkit's headers for a JSON API (a 200 over plain HTTP, no Authorization): what `secure` sends too.
API_HEADERS = dict(SecurityHeaders().for_response(html=False, https=False, authenticated=False))

BASE = "backendkit, cors=None, security_headers=None"
BASE_AA = "backendkit, cors=None, security_headers=None (A/A control)"
PLAIN = "plain"
MINE = {
    "cors": "backendkit CORS",
    "preflight": "backendkit CORS",
    "headers": "backendkit SecurityHeaders",
    "both": "backendkit CORS + SecurityHeaders",
}
SETTINGS = {  # (cors, security_headers) of each backendkit contender
    BASE: (None, None),
    BASE_AA: (None, None),
    MINE["cors"]: (BK_CORS, None),
    MINE["headers"]: (None, True),
    MINE["both"]: (BK_CORS, True),
}


def secure_headers() -> secure.Secure:
    """A ``Secure`` sending backendkit's seven default headers for a JSON API, with the same values."""
    value = API_HEADERS.__getitem__
    return secure.Secure(
        xcto=secure.XContentTypeOptions().set(value("X-Content-Type-Options")),
        referrer=secure.ReferrerPolicy().set(value("Referrer-Policy")),
        coop=secure.CrossOriginOpenerPolicy().set(value("Cross-Origin-Opener-Policy")),
        corp=secure.CrossOriginResourcePolicy().set(value("Cross-Origin-Resource-Policy")),
        permissions=secure.PermissionsPolicy().set(value("Permissions-Policy")),
        xfo=secure.XFrameOptions().set(value("X-Frame-Options")),
        csp=secure.ContentSecurityPolicy().set(value("Content-Security-Policy")),
    )


@dataclass
class Contender:
    """One app to time; ``base`` is the contender it adds to; ``case`` the case it takes part in (None: all)."""

    name: str
    app: Any
    base: str | None = None
    cases: tuple[str, ...] = CASES
    peer: bool = False


def backendkit_contenders(build: Callable[[Any, Any], Any]) -> list[Contender]:
    """The baseline, its A/A control, and the app with CORS, with the security headers, with both."""
    out = []
    for name, (cors, headers) in SETTINGS.items():
        cases = CASES if name in (BASE, BASE_AA) else tuple(c for c in CASES if MINE[c] == name)
        out.append(Contender(name, build(cors, headers), None if name == BASE else BASE, cases))
    return out


def peer(name: str, app: Any, *cases: str) -> Contender:
    return Contender(name, app, PLAIN, cases, peer=True)


# --- FastAPI --------------------------------------------------------------------------------------------
def fastapi_app(*, cors: Any = None, headers: Any = None, backendkit: bool = False) -> FastAPI:
    app = FastAPI()
    if backendkit:
        from backendkit.fastapi import install

        install(app, settings=Settings(cors=cors, security_headers=headers))

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.options("/items/{item_id}")
    async def options_item(item_id: int) -> Response:
        return Response(status_code=204)

    return app


def starlette_cors(app: FastAPI) -> FastAPI:
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_credentials=True,
        allow_methods=METHODS,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE,
        max_age=MAX_AGE,
    )
    return app


def fastapi_contenders() -> list[Contender]:
    secured = fastapi_app()
    secured.add_middleware(SecureASGIMiddleware, secure=secure_headers())
    both = fastapi_app()
    both.add_middleware(SecureASGIMiddleware, secure=secure_headers())
    return [
        Contender(PLAIN, fastapi_app()),
        peer("Starlette CORSMiddleware", starlette_cors(fastapi_app()), "cors", "preflight"),
        peer("secure SecureASGIMiddleware", secured, "headers"),
        peer("CORSMiddleware + SecureASGIMiddleware", starlette_cors(both), "both"),
        *backendkit_contenders(lambda c, h: fastapi_app(cors=c, headers=h, backendkit=True)),
    ]


# --- Flask ----------------------------------------------------------------------------------------------
def flask_app(*, cors: Any = None, headers: Any = None, backendkit: bool = False) -> Flask:
    app = Flask("bench")
    if backendkit:
        from backendkit.flask import BackendKit

        app.config.update(BACKENDKIT_CORS=cors, BACKENDKIT_SECURITY_HEADERS=headers)
        BackendKit(app)

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> Any:
        return jsonify(id=item_id)

    return app


def flask_cors(app: Flask) -> Flask:
    import flask_cors

    flask_cors.CORS(
        app,
        origins=[ORIGIN],
        supports_credentials=True,
        methods=METHODS,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE,
        max_age=MAX_AGE,
    )
    return app


def secure_after_request(app: Flask) -> Flask:
    headers = secure_headers()

    @app.after_request
    def add_security_headers(response: Any) -> Any:
        headers.set_headers(response)
        return response

    return app


def secure_wsgi(app: Flask) -> Flask:
    app.wsgi_app = SecureWSGIMiddleware(app.wsgi_app, secure=secure_headers())  # type: ignore[method-assign]
    return app


def flask_contenders() -> list[Contender]:
    return [
        Contender(PLAIN, flask_app()),
        peer("flask-cors", flask_cors(flask_app()), "cors", "preflight"),
        peer("secure SecureWSGIMiddleware", secure_wsgi(flask_app()), "headers"),
        peer("secure set_headers in after_request", secure_after_request(flask_app()), "headers"),
        peer("flask-cors + SecureWSGIMiddleware", secure_wsgi(flask_cors(flask_app())), "both"),
        *backendkit_contenders(lambda c, h: flask_app(cors=c, headers=h, backendkit=True)),
    ]


# --- Django ---------------------------------------------------------------------------------------------
def get_item(request: HttpRequest, item_id: int) -> JsonResponse:
    return JsonResponse({"id": item_id})


class SecureHeadersMiddleware:
    """``secure``'s ``set_headers`` on every response, in a Django middleware (it ships none for Django)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.secure = secure_headers()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        self.secure.set_headers(response)
        return response


class Site(WSGIHandler):
    """A WSGI handler with its own middleware list, ``BACKENDKIT`` settings and URLconf (one per contender)."""

    def __init__(self, middleware: Sequence[str], backendkit: dict[str, Any] | None = None) -> None:
        with override_settings(MIDDLEWARE=list(middleware), BACKENDKIT=backendkit or {}):  # read here, once
            super().__init__()
        self.urlconf = types.ModuleType(f"security_bench_urls_{id(self)}")
        self.urlconf.urlpatterns = [path("items/<int:item_id>", get_item)]  # type: ignore[attr-defined]

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        request.urlconf = self.urlconf
        return super().get_response(request)


def setup_django() -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["localhost"],
        ROOT_URLCONF="benchmarks._django_urls_plain",  # unused: each Site sets its own
        INSTALLED_APPS=["backendkit.django", "corsheaders"],
        MIDDLEWARE=[],
        DATABASES={},
        USE_TZ=True,
        # django-cors-headers reads its settings at each request; only its contenders have its middleware.
        CORS_ALLOWED_ORIGINS=[ORIGIN],
        CORS_ALLOW_CREDENTIALS=True,
        CORS_ALLOW_METHODS=METHODS,
        CORS_ALLOW_HEADERS=ALLOW_HEADERS,
        CORS_EXPOSE_HEADERS=EXPOSE,
        CORS_PREFLIGHT_MAX_AGE=MAX_AGE,
    )
    django.setup()


def django_contenders() -> list[Contender]:
    cors = "corsheaders.middleware.CorsMiddleware"
    headers = f"{__name__}.SecureHeadersMiddleware"

    def backendkit(c: Any, h: Any) -> Site:
        return Site(["backendkit.django.ErrorMiddleware"], {"CORS": c, "SECURITY_HEADERS": h})

    return [
        Contender(PLAIN, Site([])),
        peer("django-cors-headers", Site([cors]), "cors", "preflight"),
        peer("secure SecureWSGIMiddleware", SecureWSGIMiddleware(Site([]), secure=secure_headers()), "headers"),
        peer("secure set_headers in a Django middleware", Site([headers]), "headers"),
        peer("django-cors-headers + secure middleware", Site([cors, headers]), "both"),
        *backendkit_contenders(backendkit),
    ]


# --- the requests and the checks ------------------------------------------------------------------------
def request_headers(case: str) -> list[tuple[str, str]]:
    headers = [("Host", "localhost"), ("Accept", "application/json")]
    if case != "headers":
        headers.append(("Origin", ORIGIN))
    if case == "preflight":
        headers += [("Access-Control-Request-Method", ASKED_METHOD), ("Access-Control-Request-Headers", ASKED_HEADERS)]
    return headers


def driver(app: Any, case: str, loop: asyncio.AbstractEventLoop | None) -> ASGIDriver | WSGIDriver:
    method = "OPTIONS" if case == "preflight" else "GET"
    headers = request_headers(case)
    if loop is not None:
        encoded = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
        return ASGIDriver(app, http_scope(method, "/items/1", encoded), loop)
    environ = {f"HTTP_{n.upper().replace('-', '_')}": v for n, v in headers}
    return WSGIDriver(app, wsgi_environ(method, "/items/1", REMOTE_ADDR="127.0.0.1", **environ))


def cors_sent(answer: Answer, case: str) -> tuple[list[str], list[str]]:
    """What is wrong with the CORS headers of ``answer``: (missing headers the case needs, other shortfalls).

    A shortfall (no ``Vary: Origin``, no ``RateLimit`` exposed) is printed, not refused: it is the peer's
    behaviour, which the browser tests compare (flask-cors sends no ``Vary: Origin`` with one origin).
    """
    headers = answer.headers
    wrong, short = [], []
    if headers.get("access-control-allow-origin") != ORIGIN:
        wrong.append(f"Access-Control-Allow-Origin: {headers.get('access-control-allow-origin')}")
    if headers.get("access-control-allow-credentials") != "true":
        wrong.append("no Access-Control-Allow-Credentials: true")
    if "origin" not in headers.get("vary", "").lower():
        short.append("no Vary: Origin")
    if case == "preflight":
        if ASKED_METHOD not in headers.get("access-control-allow-methods", ""):
            wrong.append(f"{ASKED_METHOD} not in Access-Control-Allow-Methods")
        allowed = {h.strip().lower() for h in headers.get("access-control-allow-headers", "").split(",")}
        if not {h.strip() for h in ASKED_HEADERS.split(",")} <= allowed:
            wrong.append(f"Access-Control-Allow-Headers: {headers.get('access-control-allow-headers')}")
        if headers.get("access-control-max-age") != str(MAX_AGE):
            wrong.append(f"Access-Control-Max-Age: {headers.get('access-control-max-age')}")
    elif "ratelimit" not in headers.get("access-control-expose-headers", "").lower():
        wrong.append(f"Access-Control-Expose-Headers: {headers.get('access-control-expose-headers')}")
    return wrong, short


def security_sent(answer: Answer) -> list[str]:
    """What is wrong with the security headers of ``answer`` (empty: all seven there, with their values)."""
    return [
        f"{name}: {answer.headers.get(name.lower())!r}, not {value!r}"
        for name, value in API_HEADERS.items()
        if answer.headers.get(name.lower()) != value
    ]


def checked(contender: Contender, client: ASGIDriver | WSGIDriver, case: str) -> list[str]:
    """The contender answers as its case wants, a baseline with none of the headers; its shortfalls, if any."""
    short: list[str] = []
    for _ in range(2):  # the first request may build what later ones reuse
        answer = client.request()
        assert 200 <= answer.status < 300, (contender.name, case, answer)
        has_cors = "access-control-allow-origin" in answer.headers
        has_security = "x-content-type-options" in answer.headers
        if contender.name in (PLAIN, BASE, BASE_AA):
            assert not has_cors, (contender.name, case, answer.headers)
            assert not has_security, (contender.name, case, answer.headers)
            continue
        wrong, short = cors_sent(answer, case) if case != "headers" else ([], [])
        if case in ("headers", "both"):
            wrong += security_sent(answer)
        assert not wrong, f"{contender.name} ({case}): {'; '.join(wrong)}"
    return short


# --- timing ---------------------------------------------------------------------------------------------
def spread(values: list[float]) -> float:
    """Half the interquartile range."""
    if len(values) < 2:
        return 0.0
    quartiles = statistics.quantiles(values, n=4)
    return (quartiles[2] - quartiles[0]) / 2


def best_added(samples: Samples, name: str, base: str) -> float:
    """The contender's best round minus its baseline's best round: what the load cannot inflate."""
    return min(samples[name]) - min(samples[base])


def median_added(samples: Samples, name: str, base: str) -> float:
    """The median over rounds of (contender - its baseline), the two measured in the same round."""
    return statistics.median(differences(samples, name, base))


TITLES = {
    "cors": "GET /items/1 from the allowed origin (CORS)",
    "preflight": f"OPTIONS /items/1 preflight ({ASKED_METHOD}; {ASKED_HEADERS})",
    "headers": "GET /items/1, no Origin (security headers)",
    "both": "GET /items/1 from the allowed origin (CORS + security headers; for information)",
}


def section(framework: str, contenders: list[Contender], args: argparse.Namespace, summary: Summary) -> None:
    loop = asyncio.new_event_loop() if framework == "FastAPI" else None
    for case in args.cases:
        taking = [c for c in contenders if case in c.cases]
        clients = {c.name: driver(c.app, case, loop) for c in taking}
        shortfalls = {c.name: checked(c, clients[c.name], case) for c in taking}
        runners: dict[str, Runner] = {c.name: clients[c.name].run for c in taking}
        samples = scaled(measure_ns(runners, args.rounds, args.sample, least=20, warmup=200), 1000)
        print(f"{framework}, {TITLES[case]}; us per request over {args.rounds} rounds;")
        print("  added: the median over rounds of (contender - its baseline) in the same round, +-: its")
        print("  half-IQR; bests: the contender's best round - its baseline's best round")
        print(f"  {'':<58}{'median':>9}{'best':>9}{'added':>9}{'+-':>7}{'bests':>9}   baseline")
        for c in taking:
            values = samples[c.name]
            line = f"  {c.name:<58}{statistics.median(values):>9.2f}{min(values):>9.2f}"
            if c.base is not None:
                diffs = differences(samples, c.name, c.base)
                line += f"{statistics.median(diffs):>+9.2f}{spread(diffs):>7.2f}"
                line += f"{best_added(samples, c.name, c.base):>+9.2f}   {c.base}"
            print(line + "".join(f" ({s})" for s in shortfalls[c.name]))
        noise = differences(samples, BASE_AA, BASE)
        aa, aa_best = statistics.median(noise), best_added(samples, BASE_AA, BASE)
        print(f"  noise (A/A control): {aa:+.2f} us, half-IQR {spread(noise):.2f} us (bests {aa_best:+.2f} us)")
        mine = MINE[case]
        ours, ours_best = median_added(samples, mine, BASE), best_added(samples, mine, BASE)
        peers = {c.name: median_added(samples, c.name, PLAIN) for c in taking if c.peer}
        cheapest = min(peers, key=peers.__getitem__)
        for name, theirs in peers.items():
            ratio = f"{ours / theirs:.2f}x" if ours > 0 and theirs > 0 else "no ratio (one adds nothing)"
            theirs_best = best_added(samples, name, PLAIN)
            print(f"  {mine} added / {name}'s: {ratio}: {ours:+.2f} vs {theirs:+.2f} us", end="")
            print(f" (bests {ours_best:+.2f} vs {theirs_best:+.2f})")
        theirs = peers[cheapest]
        ratio = f"{ours / theirs:.2f}x, " if ours > 0 and theirs > 0 else ""
        figure = f"{ratio}{ours:+.2f} vs {theirs:+.2f} us (bests {ours_best:+.2f} vs"
        figure += f" {best_added(samples, cheapest, PLAIN):+.2f}; {cheapest})"
        label = f"{framework} {case}: {mine} added vs the cheapest peer's"
        if case in JUDGED:
            summary.judge(f"{label} (<=)", figure, ours <= theirs)
        else:
            summary.note(label, figure)
        summary.note(f"{framework} {case}: A/A control added", f"{aa:+.2f} us (bests {aa_best:+.2f})")
        print()
    if loop is not None:
        loop.close()


# --- main -----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--sample", type=float, default=0.05, help="seconds each sample lasts (about)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"cases to run, comma-separated: {CASES}")
    add_only(parser, SECTIONS)
    args = parse(parser, quick={"rounds": 3, "sample": 0.01})
    sections = only(parser, args, SECTIONS)
    args.cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    if unknown := set(args.cases) - set(CASES):
        parser.error(f"--cases: unknown cases {sorted(unknown)}; choose among {', '.join(CASES)}")

    setup_django()
    run = Run(PACKAGES)
    run.header(f"peers configured alike: origin {ORIGIN}, credentials, max age {MAX_AGE} s; secure: backendkit's 7")
    summary = Summary(unknown="NOT MEASURED")
    builders = {"fastapi": ("FastAPI", fastapi_contenders), "flask": ("Flask", flask_contenders)}
    builders["django"] = ("Django", django_contenders)
    logging.disable(logging.WARNING)
    for name in sections:
        framework, build = builders[name]
        section(framework, build(), args, summary)
    summary.print("summary (added: the median of per-round differences, us; <=: backendkit adds no more than it)")
    run.footer()


if __name__ == "__main__":
    main()
