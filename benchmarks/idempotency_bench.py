"""What idempotency keys add to a request: backendkit on FastAPI and Flask, memory and Redis, against two peers.

One route everywhere, ``POST /payments`` with the JSON body ``{"eur": 5}``, answering 201 with
``{"id": <runs so far>, "eur": 5}``: FastAPI reads it into a pydantic model (``async def``),
Flask with ``request.get_json()``. Two cases, each request carrying an ``Idempotency-Key``:

- **first request**: a fresh key on every request, so the handler runs and its response is
  kept (backendkit: ``begin`` takes the key, ``finish`` stores the response);
- **replay**: one key, whose response was kept before the timing starts, so the handler does
  not run and the stored response is sent again (``Idempotent-Replayed: true``).

The contenders, each its own app with backendkit installed (``backendkit.fastapi.install(app)``,
``backendkit.flask.BackendKit(app)``), the same route and the same requests:

- baseline: the route without idempotency (the key header is sent, and means nothing);
- backendkit FastAPI, per route (as the guide sets it up): ``IdempotentRoutes(app,
  Idempotency(store))`` (the buffering middleware, ``app_wide=False``) and
  ``dependencies=[keys.depends()]`` on the route, with a ``MemoryStore`` and an
  ``AsyncRedisStore``. A replay is found by the dependency, after routing (and, in an app with
  authentication, after the user is known); it raises ``ReplayInstead``, whose 409 FastAPI and
  backendkit's error handling render, and the middleware drops it and sends the stored response;
- backendkit FastAPI, app-wide: ``app.add_middleware(IdempotencyMiddleware, idempotency=...)``
  with a ``MemoryStore`` and no dependency: the key is taken before routing, the shape both peers
  have, so the like-for-like comparison;
- backendkit Flask: ``@idempotent(keys)`` under ``@app.post``, a ``MemoryStore`` and a (sync)
  ``RedisStore``;
- asgi-idempotency-header (``IdempotencyHeaderMiddleware(backend=MemoryBackend())``, a pure ASGI
  middleware added after ``install``, where ``IdempotentRoutes`` adds backendkit's): keys are
  global (one client's key finds another's response), there is no fingerprint (the same key
  with another body gets the first response), it keeps the parsed JSON body and the status and
  no headers (a replay is a new ``JSONResponse``: the body re-encoded), only for responses whose
  content type is ``application/json``, whatever their status. A key's in-flight mark is never
  removed once its response is kept, and neither is ever swept (a response goes when it is
  read after its expiry). Its ``RedisBackend`` (``redis.asyncio``, 24 h expiry) is measured for
  information: six commands per first request, two per replay, each its own round trip;
- fastapi-idempotency (``IdempotencyMiddleware(store=MemoryStore())``, a Starlette
  ``BaseHTTPMiddleware``, added the same way): keys per client address (its default scope; no
  users), a fingerprint of the method, path, query and body; it keeps the status, the headers
  but hop-by-hop ones, ``Set-Cookie`` and ``Content-Length``, and the body, and keeps no 5xx and
  no response with ``Set-Cookie``. Each first request starts a lease task (a heartbeat) and
  takes an ``asyncio.Lock`` for each store call; its rows are swept at most once a minute, on a
  request.

backendkit keeps the status, the headers but hop-by-hop and per-response ones (the request id,
rate limits, ``Set-Cookie`` unless asked), and the body's bytes as sent, for 2xx, 3xx and the
4xx a handler answers; keys are scoped by the user, else the API key, else the client address,
and by the path; the fingerprint is the method, path, query, media type and body.

Two more cases, for information. The pieces of the per-route path on FastAPI, each alone: an
empty dependency with ``keys.depends()``'s parameters (FastAPI's own cost), the same raising
``ReplayInstead`` without the middleware (the stand-in 409 rendered and sent; logging is switched
off for this case, since a real replay's access line says 201 and is not written), the
middleware alone (buffering), and the core's calls on a ``MemoryStore`` (``Idempotency.start``
and ``finish``). And a full ``MemoryStore``: it holds at most ``max_entries`` (100,000) keys,
filled here with 100,000 records kept for 24 h, against one with room (the first-request samples
above stay below the limit; the run says so if not).

FastAPI apps are called in process through their ASGI callable on one event loop (no server, no
sockets), with the scope uvicorn builds (ASGI spec 2.3) and a ``receive`` that, after the body,
waits as a server's does until the response is sent. Flask apps are called through their WSGI
callable, with an environ built once by werkzeug's ``EnvironBuilder`` (a new input stream and key
per request). Redis is a redis-server of the run's own (``tests.support.redis.start_redis``), on
a free loopback port, without persistence; the timed stores connect through its URL. Logging is
left as a process without logging configuration has it, but for the case said above.

Contenders run in rounds, one sample each per round in a rotating order; a sample repeats the
request for about --sample seconds. Reported: the median round (the best beside); "added", the
median over rounds of a contender's time minus the baseline's in the same round; a ratio, the
median over rounds of peer / backendkit measured in the same round (> 1: backendkit is faster).

Redis round trips are counted for --trips first requests and --trips replays through each Redis
contender (stores on clients whose connection class counts what it sends, their waits bounded so
that the stores use them as they are): the commands the client sent, one round trip each, and
what Redis ran (``INFO commandstats`` before and after, its own INFO left out; the commands a
Lua script calls are counted there too). A bare PING, sync and async, gives the scale of one
round trip.

    python benchmarks/idempotency_bench.py [--rounds 31] [--sample 0.08] [--trips 1000] [--quick]
        [--only fastapi,flask,parts,full,trips]
    python -m benchmarks.idempotency_bench --quick
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import redis
import redis.asyncio
from fastapi import Depends, FastAPI, Header, Request
from flask import Flask, request
from pydantic import BaseModel
from redis.backoff import NoBackoff
from redis.retry import Retry
from werkzeug.test import EnvironBuilder

from backendkit.asgi.idempotency import IdempotencyMiddleware, ReplayInstead
from backendkit.fastapi import install
from backendkit.fastapi.idempotency import IdempotentRoutes
from backendkit.flask import BackendKit
from backendkit.flask.idempotency import idempotent
from backendkit.idempotency import Attempt, Idempotency, KeyedRequest, MemoryStore
from backendkit.idempotency.redis import AsyncRedisStore, RedisStore
from benchmarks._harness.http import ASGIDriver, WSGIDriver, http_scope
from benchmarks._harness.measure import Runner, Samples, added, added_ratio, measure_us, print_rows, ratio
from benchmarks._harness.redis import RedisServer, commands_run, counting, describe, find_redis_server, start_redis
from benchmarks._harness.run import Run, Summary, add_only, parse
from benchmarks._harness.run import only as chosen

PACKAGES = (
    "backendkit",
    "fastapi",
    "starlette",
    "pydantic",
    "flask",
    "werkzeug",
    "redis",
    "hiredis",
    "asgi-idempotency-header",
    "fastapi-idempotency",
)
SECTIONS = ("fastapi", "flask", "parts", "full", "trips")
PATH = "/payments"
BODY = b'{"eur": 5}'
BOUNDED = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25}  # what the stores' URL clients have

BASELINE = "baseline (no idempotency)"
BK_MEMORY = "backendkit per route, MemoryStore"
BK_REDIS = "backendkit per route, AsyncRedisStore"
BK_APP_WIDE = "backendkit app-wide, MemoryStore"
AIH = "asgi-idempotency-header, MemoryBackend"
AIH_REDIS = "asgi-idempotency-header, RedisBackend (info)"
FAI = "fastapi-idempotency, MemoryStore"
FLASK_MEMORY = "backendkit @idempotent, MemoryStore"
FLASK_REDIS = "backendkit @idempotent, RedisStore"
PEERS = (AIH, FAI)
CASES = ("first", "replay")
ASGI_HEADERS = [
    (b"host", b"bench"),
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
    (b"accept", b"application/json"),
]


class Payment(BaseModel):  # at module level: FastAPI resolves the endpoints' (string) annotations here
    eur: int


def installed(module: str, package: str) -> bool:
    """Whether a peer can be imported; if not, it is left out, and the run says so."""
    if importlib.util.find_spec(module) is not None:
        return True
    print(f"  {package} is not installed: left out (pip install {package})")
    return False


FRESH = itertools.count()


def fresh_key() -> str:
    """A key never sent before in this process (the first-request case)."""
    return f"first-{next(FRESH)}"


# --- FastAPI through its ASGI callable ------------------------------------------------------------------
@dataclass
class Runs:
    """How many times a contender's handler ran."""

    count: int = 0


def fastapi_app(kind: str, runs: Runs, store: Any = None) -> FastAPI:
    """``POST /payments`` on a ``FastAPI()`` with ``install(app)``, made idempotent the way ``kind`` says."""
    app = FastAPI()
    install(app)
    dependencies: list[Any] = []
    if kind == "backendkit":
        keys = IdempotentRoutes(app, Idempotency(store))
        dependencies = [keys.depends()]
    elif kind == "backendkit app-wide":
        app.add_middleware(IdempotencyMiddleware, idempotency=Idempotency(store))
    elif kind == "asgi-idempotency-header":
        from idempotency_header_middleware import IdempotencyHeaderMiddleware

        app.add_middleware(IdempotencyHeaderMiddleware, backend=store)
    elif kind == "fastapi-idempotency":
        from fastapi_idempotency import IdempotencyMiddleware as PeerMiddleware

        app.add_middleware(PeerMiddleware, store=store)
    elif kind != "baseline":
        raise ValueError(kind)

    @app.post(PATH, status_code=201, dependencies=dependencies)
    async def pay(payment: Payment) -> dict[str, int]:
        runs.count += 1
        return {"id": runs.count, "eur": payment.eur}

    return app


def keyed(key: Callable[[], str]) -> Callable[[dict[str, Any]], None]:
    """Completes a request's scope: the ``Idempotency-Key`` header ``key()`` gives, and a state of its own."""

    def prepare(scope: dict[str, Any]) -> None:
        scope["headers"] = [*ASGI_HEADERS, (b"idempotency-key", key().encode())]
        scope["state"] = {}

    return prepare


def asgi(app: Any, loop: asyncio.AbstractEventLoop, key: Callable[[], str]) -> ASGIDriver:
    """``POST /payments`` with a key, with the scope uvicorn gives an app, sent straight into it."""
    scope = http_scope("POST", PATH, asgi={"version": "3.0", "spec_version": "2.3"}, state={})
    return ASGIDriver(app, scope, loop, body=BODY, prepare=keyed(key))


# --- Flask through its WSGI callable --------------------------------------------------------------------
def flask_app(kind: str, runs: Runs, store: Any = None) -> Flask:
    """``POST /payments`` on a ``Flask`` app with ``BackendKit(app)``; ``@idempotent(keys)`` unless the baseline."""
    app = Flask(f"idempotency_bench_{kind}_{id(runs)}")
    BackendKit(app)

    def pay() -> Any:
        payment = request.get_json()
        runs.count += 1
        return {"id": runs.count, "eur": payment["eur"]}, 201

    if kind == "backendkit":
        pay = idempotent(Idempotency(store))(pay)
    elif kind != "baseline":
        raise ValueError(kind)
    app.post(PATH)(pay)
    return app


def wsgi(app: Any, key: Callable[[], str]) -> WSGIDriver:
    """``POST /payments`` with a key, sent straight into a WSGI callable (an environ built by werkzeug)."""
    environ = EnvironBuilder(
        path=PATH,
        method="POST",
        data=BODY,
        content_type="application/json",
        headers={"Host": "bench", "Accept": "application/json"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    ).get_environ()

    def prepare(environ: dict[str, Any]) -> None:
        environ["HTTP_IDEMPOTENCY_KEY"] = key()

    return WSGIDriver(app, environ, body=BODY, prepare=prepare)


# --- the contenders -------------------------------------------------------------------------------------
@dataclass
class Contender:
    """A client of one app, its handler's run count, and whether it keeps keys."""

    client: ASGIDriver | WSGIDriver
    runs: Runs
    idempotent: bool
    stores: list[Any] = field(default_factory=list)


def contenders_for(
    kind: str,
    make_store: Callable[[], Any] | None,
    idempotent: bool,
    client: Callable[[Runs, Any, Callable[[], str]], ASGIDriver | WSGIDriver],
) -> tuple[Contender, Contender]:
    """One contender per case, each its own app and store: fresh keys for the first, a key of its own to replay."""
    made = []
    for case in CASES:
        runs = Runs()
        store = make_store() if make_store else None
        replay_key = f"replay-{kind.replace(' ', '-')}-{id(runs)}"
        key = fresh_key if case == "first" else (lambda k=replay_key: k)
        made.append(Contender(client(runs, store, key), runs, idempotent, [store]))
    return made[0], made[1]


def closed_later(closing: list[Callable[[], Any]], make: Callable[[], Any], close: str) -> Callable[[], Any]:
    """``make``, each store it makes to be closed at the end of the section (its method ``close``)."""

    def made() -> Any:
        store = make()
        closing.append(getattr(store, close))
        return store

    return made


def check_first(name: str, contender: Contender) -> None:
    """A fresh key: 201, the handler's answer, not a replay."""
    before = contender.runs.count
    status, headers, body = contender.client.request()
    assert status == 201, (name, status, body)
    assert json.loads(body) == {"id": before + 1, "eur": 5}, (name, body)
    assert "idempotent-replayed" not in headers, (name, headers)


def check_replay(name: str, contender: Contender) -> None:
    """The replay key: the first answer kept, then sent again without running the handler."""
    first = contender.client.request()
    runs = contender.runs.count
    again = contender.client.request()
    assert first[0] == again[0] == 201, (name, first, again)
    if contender.idempotent:
        assert contender.runs.count == runs, (name, "the handler ran on a replay")
        assert json.loads(again[2]) == json.loads(first[2]), (name, first, again)
        assert again[1].get("idempotent-replayed") == "true", (name, again[1])


def verify(name: str, contender: Contender, case: str) -> None:
    (check_first if case == "first" else check_replay)(name, contender)


def checked_after(name: str, contender: Contender, case: str, runs_before: int, sent_before: int) -> None:
    """After the timing: a first request ran the handler every time, a replay never."""
    ran, sent = contender.runs.count - runs_before, contender.client.sent - sent_before
    if case == "first" or not contender.idempotent:
        assert ran == sent, (name, case, ran, sent)
    else:
        assert ran == 0, (name, case, ran)
    for store in contender.stores:
        if isinstance(store, MemoryStore) and len(store) >= store._max:
            print(f"  warning: {name}: the MemoryStore reached max_entries ({store._max:,}); use fewer --rounds")


# --- measurement ----------------------------------------------------------------------------------------
def measure(runners: Mapping[str, Runner], rounds: int, sample_s: float, *, least: int, warmup: int) -> Samples:
    return measure_us(runners, rounds, sample_s, least=least, warmup=warmup)


def run_case(
    title: str,
    contenders: dict[str, tuple[Contender, Contender]],
    args: argparse.Namespace,
    summary: Summary,
    *,
    batch: bool,
) -> dict[str, Samples]:
    """Both cases, first request and replay, each its own interleaved measurement; the tables printed.

    What each contender adds to the baseline goes to the summary.
    """
    results: dict[str, Samples] = {}
    for index, case in enumerate(CASES):
        pairs = {name: pair[index] for name, pair in contenders.items()}
        for name, contender in pairs.items():
            verify(name, contender, case)
        before = {name: (c.runs.count, c.client.sent) for name, c in pairs.items()}
        runners = {name: c.client.run for name, c in pairs.items()}
        results[case] = measure(runners, args.rounds, args.sample, least=5, warmup=20 if batch else 10)
        for name, contender in pairs.items():
            checked_after(name, contender, case, *before[name])
    print(f"{title}: POST {PATH}, us per request (median of {args.rounds} rounds, best beside)")
    header = f"  {'':<52}"
    for case in CASES:
        header += f"{case + ': median':>16}{'best':>8}{'added':>9}"
    print(header)
    for name in contenders:
        line = f"  {name:<52}"
        for case in CASES:
            samples = results[case]
            plus = "" if name == BASELINE else f"{added(samples, name, BASELINE):+.1f}"
            line += f"{statistics.median(samples[name]):>16.1f}{min(samples[name]):>8.1f}{plus:>9}"
        print(line)
    for name in contenders:
        if name != BASELINE:
            figures = ", ".join(f"{case} {added(results[case], name, BASELINE):+.1f} us" for case in CASES)
            summary.note(f"{title} added: {name}", figures)
    return results


# --- FastAPI --------------------------------------------------------------------------------------------
def fastapi_section(args: argparse.Namespace, redis_url: str | None, summary: Summary) -> None:
    loop = asyncio.new_event_loop()
    closing: list[Callable[[], Any]] = []

    def pair(kind: str, make_store: Callable[[], Any] | None, idempotent: bool = True) -> tuple[Contender, Contender]:
        return contenders_for(
            kind, make_store, idempotent, lambda runs, store, key: asgi(fastapi_app(kind, runs, store), loop, key)
        )

    contenders: dict[str, tuple[Contender, Contender]] = {
        BASELINE: pair("baseline", None, idempotent=False),
        BK_MEMORY: pair("backendkit", MemoryStore),
    }
    if redis_url is not None:
        contenders[BK_REDIS] = pair("backendkit", closed_later(closing, lambda: AsyncRedisStore(redis_url), "aclose"))
    contenders[BK_APP_WIDE] = pair("backendkit app-wide", MemoryStore)
    if installed("idempotency_header_middleware", "asgi-idempotency-header"):
        from idempotency_header_middleware.backends import MemoryBackend, RedisBackend

        contenders[AIH] = pair("asgi-idempotency-header", MemoryBackend)
    if installed("fastapi_idempotency", "fastapi-idempotency"):
        from fastapi_idempotency import MemoryStore as PeerMemoryStore

        contenders[FAI] = pair("fastapi-idempotency", PeerMemoryStore)
    if redis_url is not None and AIH in contenders:

        def peer_redis() -> Any:
            client = redis.asyncio.Redis.from_url(redis_url, **BOUNDED)
            closing.append(client.aclose)
            return RedisBackend(client)

        contenders[AIH_REDIS] = pair("asgi-idempotency-header", peer_redis)

    results = run_case("FastAPI", contenders, args, summary, batch=True)
    peers = [peer for peer in PEERS if peer in contenders]
    if peers:
        print(
            "  peer / backendkit (MemoryStore, per route or app-wide), the median of per-round ratios (> 1: backendkit"
        )
        print("  is faster); total: us per request; added: what the peer adds over the baseline / what backendkit adds")
        print("  (n/a if either adds nothing: a replay answered before routing costs less than the baseline)")
        print(f"  {'':<52}{'first: total':>16}{'added':>9}{'replay: total':>16}{'added':>9}")
        for peer in peers:
            for mine in (BK_MEMORY, BK_APP_WIDE):
                label = f"{peer} / {'per route' if mine == BK_MEMORY else 'app-wide'}"
                line = f"  {label:<52}"
                figures = []
                for case in CASES:
                    total = ratio(results[case], peer, mine)
                    more = added_ratio(results[case], peer, mine, BASELINE)
                    shown = "n/a" if more is None else f"{more:.2f}x"
                    line += f"{total:>15.2f}x{shown:>9}"
                    figures.append(f"{case} {total:.2f}x (added {shown})")
                print(line)
                summary.note(f"FastAPI: {label}", ", ".join(figures))
    for close in closing:
        loop.run_until_complete(close())
    loop.close()
    print()


# --- Flask ----------------------------------------------------------------------------------------------
def flask_section(args: argparse.Namespace, redis_url: str | None, summary: Summary) -> None:
    closing: list[Callable[[], Any]] = []

    def pair(kind: str, make_store: Callable[[], Any] | None) -> tuple[Contender, Contender]:
        return contenders_for(
            f"flask {kind}",
            make_store,
            kind != "baseline",
            lambda runs, store, key: wsgi(flask_app(kind, runs, store), key),
        )

    contenders = {BASELINE: pair("baseline", None), FLASK_MEMORY: pair("backendkit", MemoryStore)}
    if redis_url is not None:
        contenders[FLASK_REDIS] = pair("backendkit", closed_later(closing, lambda: RedisStore(redis_url), "close"))
    run_case("Flask", contenders, args, summary, batch=False)
    for close in closing:
        close()
    print()


# --- where a FastAPI request's added time goes ---------------------------------------------------------
def parts_app(kind: str, runs: Runs) -> FastAPI:
    """The route with a piece of what ``IdempotentRoutes`` does, alone."""
    app = FastAPI()
    install(app)
    dependencies: list[Any] = []
    if kind == "buffering":  # the middleware with no route hook: the body buffered, the response passed through
        app.add_middleware(IdempotencyMiddleware, idempotency=Idempotency(MemoryStore()), app_wide=False)
    else:
        failure = kind == "raises"

        async def idempotency_key(  # keys.depends()'s parameters, and nothing done
            request: Request, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
        ) -> None:
            if failure:
                raise ReplayInstead()  # what a per-route replay raises, for its middleware to drop

        dependencies = [Depends(idempotency_key)]

    @app.post(PATH, status_code=201, dependencies=dependencies)
    async def pay(payment: Payment) -> dict[str, int]:
        runs.count += 1
        return {"id": runs.count, "eur": payment.eur}

    return app


def parts_section(args: argparse.Namespace, summary: Summary) -> None:
    """The pieces of backendkit's per-route path on FastAPI, each alone, and the core's calls."""
    loop = asyncio.new_event_loop()
    apps = {
        BASELINE: fastapi_app("baseline", Runs()),
        "an empty dependency with keys.depends()'s parameters": parts_app("empty", Runs()),
        "the same raising ReplayInstead (its 409 rendered and sent)": parts_app("raises", Runs()),
        "IdempotencyMiddleware(app_wide=False) alone (buffering)": parts_app("buffering", Runs()),
    }
    runners: dict[str, Runner] = {name: asgi(app, loop, fresh_key).run for name, app in apps.items()}
    # The 409 sent without the middleware would be logged (a 4xx access line is a warning, written to stderr
    # by logging's last resort); the real replay's line says 201 and is not written: so none is, here.
    logging.disable(logging.WARNING)
    try:
        samples = measure(runners, args.rounds, args.sample / 2, least=5, warmup=20)
    finally:
        logging.disable(logging.NOTSET)
    loop.close()

    keys = Idempotency(MemoryStore())
    headers = [("content-type", "application/json"), ("content-length", "16"), ("x-request-id", "0" * 32)]

    def keyed(key: str) -> KeyedRequest:
        return KeyedRequest("POST", PATH, "", "application/json", BODY, [key], client="127.0.0.1")

    replayed = keyed("parts-replay")
    attempt = keys.start(replayed)
    assert isinstance(attempt, Attempt)
    keys.finish(attempt, 201, headers, b'{"id":1,"eur":5}')

    def first(n: int) -> None:
        for _ in range(n):
            begun = keys.start(keyed(fresh_key()))
            keys.finish(begun, 201, headers, b'{"id":1,"eur":5}')  # type: ignore[arg-type]

    def replay(n: int) -> None:
        for _ in range(n):
            keys.start(replayed)

    core = measure(
        {"Idempotency.start + finish, a fresh key": first, "Idempotency.start, a replay": replay},
        args.rounds,
        args.sample / 4,
        least=20,
        warmup=200,
    )
    print(f"FastAPI, the pieces alone: us per request (median of {args.rounds} rounds), added over the baseline")
    print_rows(samples, BASELINE, width=60, digits=1)
    for name in samples:
        if name != BASELINE:
            summary.note(f"FastAPI piece: {name}", f"{added(samples, name, BASELINE):+.1f} us")
    print("  the core alone, MemoryStore, a KeyedRequest built each call: us per call")
    print_rows(core, width=60, header=False)
    for name, values in core.items():
        summary.note(f"core: {name}", f"{statistics.median(values):.2f} us")
    print()


# --- a MemoryStore at its max_entries -------------------------------------------------------------------
def full_section(args: argparse.Namespace, summary: Summary) -> None:
    """First requests on FastAPI with a MemoryStore holding max_entries live records, against one with room."""
    loop = asyncio.new_event_loop()
    full = MemoryStore()
    limit = full._max
    record = b"R" + b"0" * 64 + b'201[["content-type","application/json"]]\n{"id":1,"eur":5}'
    lock = b"L" + b"0" * 96
    started = time.perf_counter()
    for i in range(limit):  # responses kept for 24 h, as first requests leave them
        full.begin(f"filler-{i}", lock, 60_000)
        full.finish(f"filler-{i}", lock, record, 86_400_000)
    filled = time.perf_counter() - started
    contenders = {
        BASELINE: Contender(asgi(fastapi_app("baseline", runs := Runs()), loop, fresh_key), runs, False),
        f"{BK_MEMORY} (room)": Contender(
            asgi(fastapi_app("backendkit", runs := Runs(), room := MemoryStore()), loop, fresh_key), runs, True
        ),
        f"{BK_MEMORY} (full: {limit:,} records)": Contender(
            asgi(fastapi_app("backendkit", runs := Runs(), full), loop, fresh_key), runs, True
        ),
    }
    for name, contender in contenders.items():
        check_first(name, contender)
    rounds = max(3, args.rounds // 3)
    samples = measure(
        {name: c.client.run for name, c in contenders.items()}, rounds, args.sample / 2, least=3, warmup=3
    )
    assert len(full) == limit, len(full)
    assert len(room) < limit, len(room)
    print(
        f"FastAPI first requests, a MemoryStore at its max_entries ({limit:,} live records, filled in {filled:.1f} s)"
        f" against one with room; us per request (median of {rounds} rounds)"
    )
    print_rows(samples, BASELINE, width=52, digits=1)
    print("  past max_entries, MemoryStore._put drops its oldest writes: constant work per new key")
    summary.note(
        f"FastAPI first request, MemoryStore full ({limit:,})",
        f"{added(samples, list(contenders)[2], BASELINE):+.1f} us over the baseline "
        f"(with room {added(samples, list(contenders)[1], BASELINE):+.1f} us)",
    )
    loop.close()
    print()


# --- Redis round trips, counted -------------------------------------------------------------------------
def trips_section(args: argparse.Namespace, server: RedisServer, summary: Summary) -> None:
    admin = redis.Redis(host=server.host, port=server.port)
    n = args.trips
    loop = asyncio.new_event_loop()
    bounded = {"host": server.host, "port": server.port, "retry": Retry(NoBackoff(), 0), **BOUNDED}
    sync_counting = counting(redis.Connection)
    async_counting = counting(redis.asyncio.Connection)
    # Clients whose every wait is already bounded: the stores use them as they are (their connections count).
    sync_client = redis.Redis(connection_pool=redis.ConnectionPool(connection_class=sync_counting, **bounded))
    async_client = redis.asyncio.Redis(
        connection_pool=redis.asyncio.ConnectionPool(connection_class=async_counting, **bounded)
    )
    peer_client = redis.asyncio.Redis(
        connection_pool=redis.asyncio.ConnectionPool(connection_class=async_counting, **bounded)
    )
    rows: dict[str, tuple[Callable[[], int], Callable[[Callable[[], str]], Contender]]] = {
        "FastAPI, backendkit AsyncRedisStore": (
            lambda: async_counting.sent,
            lambda key: Contender(
                asgi(fastapi_app("backendkit", r := Runs(), AsyncRedisStore(async_client)), loop, key), r, True
            ),
        ),
        "Flask, backendkit RedisStore": (
            lambda: sync_counting.sent,
            lambda key: Contender(wsgi(flask_app("backendkit", r := Runs(), RedisStore(sync_client)), key), r, True),
        ),
    }
    if installed("idempotency_header_middleware", "asgi-idempotency-header"):
        from idempotency_header_middleware.backends import RedisBackend

        rows["FastAPI, asgi-idempotency-header RedisBackend (info)"] = (
            lambda: async_counting.sent,
            lambda key: Contender(
                asgi(fastapi_app("asgi-idempotency-header", r := Runs(), RedisBackend(peer_client)), loop, key),
                r,
                True,
            ),
        )
    print(f"Redis round trips: {n} first requests and {n} replays through each app, counted")
    print("  sent: commands the client sent per request (one round trip each); in Redis: INFO commandstats per request")
    print("  (a Lua script's own calls are counted there too)")
    for row, (label, (sent, make)) in enumerate(rows.items()):
        figures = []
        for case in CASES:
            replay_key = f"trips-{row}"
            contender = make(fresh_key if case == "first" else (lambda k=replay_key: k))
            if case == "first":
                contender.client.run(5)  # connections opened, scripts loaded
            else:
                check_replay(label, contender)
            runs, count = contender.runs.count, sent()
            with commands_run(admin) as ran:
                contender.client.run(n)
            per_request = (sent() - count) / n
            handler = contender.runs.count - runs
            assert handler == (n if case == "first" else 0), (label, case, handler)
            commands = ", ".join(f"{name} {calls / n:g}" for name, calls in sorted(ran.items()))
            print(f"  {label:<52}{case:<8}sent {per_request:.2f}   in Redis: {commands}")
            figures.append(f"{case} {per_request:.2f}")
        summary.note(f"Redis round trips per request: {label}", ", ".join(figures))
    sync_ping = redis.Redis(host=server.host, port=server.port)
    async_ping = redis.asyncio.Redis(host=server.host, port=server.port)

    async def pings(count: int) -> None:
        for _ in range(count):
            await async_ping.ping()

    def sync_pings(count: int) -> None:
        for _ in range(count):
            sync_ping.ping()

    scale = measure(
        {"redis-py PING": sync_pings, "redis.asyncio PING": lambda count: loop.run_until_complete(pings(count))},
        max(3, args.rounds // 3),
        args.sample,
        least=5,
        warmup=20,
    )
    shown = ", ".join(f"{name} {statistics.median(values):.1f}" for name, values in scale.items())
    print(f"  for scale, one bare round trip, us (median): {shown}")
    summary.note("one bare round trip, us", shown)
    sync_ping.close()
    loop.run_until_complete(async_ping.aclose())
    loop.run_until_complete(async_client.aclose())
    loop.run_until_complete(peer_client.aclose())
    loop.close()
    sync_client.close()
    admin.close()
    print()


# --- main -----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31, help="rounds of each case")
    parser.add_argument("--sample", type=float, default=0.08, help="seconds each sample lasts (about)")
    parser.add_argument("--trips", type=int, default=1000, help="requests per case for the round-trip counts")
    add_only(parser, SECTIONS)
    args = parse(parser, quick={"rounds": 3, "sample": 0.01, "trips": 50})
    only = chosen(parser, args, SECTIONS)

    run = Run(PACKAGES)
    binary = find_redis_server()
    server = start_redis(binary) if binary is not None else None
    redis_url = server.url if server is not None else None
    if server is None:
        run.header("redis-server not found: the Redis contenders and the round-trip counts are left out")
    else:
        with redis.Redis(host=server.host, port=server.port) as admin:
            run.header(describe(admin, f"{server.host}:{server.port}"))

    summary = Summary()
    try:
        if "fastapi" in only:
            fastapi_section(args, redis_url, summary)
        if "flask" in only:
            flask_section(args, redis_url, summary)
        if "parts" in only:
            parts_section(args, summary)
        if "full" in only:
            full_section(args, summary)
        if "trips" in only and server is not None:
            trips_section(args, server, summary)
    finally:
        if server is not None:
            server.stop()

    summary.print("summary (added: median over rounds of the contender minus the baseline; ratios: peer / backendkit)")
    run.footer()


if __name__ == "__main__":
    main()
