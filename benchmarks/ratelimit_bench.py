"""backendkit.ratelimit against limits, PyrateLimiter, slowapi and flask-limiter, on the allowed path.

Every limit is so high that nothing is ever refused, so each figure is the cost of
a check that lets the request through. Six cases:

1. memory, one policy: a check in process memory (microseconds per check);
2. Redis, one policy: against the same EVALSHA sent bare, and limits' RedisStorage;
3. Redis, three policies: one backendkit check against three limits hits in a row
   (what flask-limiter does with three limits), with round trips and Redis commands counted;
   cases 2 and 3 also print Redis's own time per check (INFO commandstats, reset before each
   batch: the scripts' usec, which include the commands they call) and checks/s per Redis core;
4. async Redis, 50 concurrent tasks: checks per second;
5. HTTP: what the rate-limit check adds to a request in FastAPI and Flask, against
   slowapi and flask-limiter (in-process, through the ASGI / WSGI callable), both per
   route (dependency, decorator) and for every request (ASGI middleware, Flask extension);
6. memory: bytes per key in the store at --keys distinct keys (tracemalloc).

The checks cycle through 1,000 client keys. Redis is a redis-server started on a
free loopback port for the run and stopped at its end. Cases are interleaved round
by round; the best and the median round are reported.

    python benchmarks/ratelimit_bench.py [--rounds 5] [--checks 20000] [--redis-checks 5000]
        [--requests 2000] [--keys 1000000] [--skip-limits-memory] [--redis-server redis-server]
        [--cases 1,2,3,4,5,6] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import logging
import os
import shutil
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

# At module level: FastAPI resolves an endpoint's (string) annotations in the module's globals,
# and slowapi needs the endpoint to take the Request (and the Response, to write its headers).
from fastapi import Request, Response

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from benchmarks._harness.http import ASGIDriver, WSGIDriver, http_scope, wsgi_environ
from benchmarks._harness.measure import Runner, Samples, best, measure_fixed, median, ratio_of_bests
from benchmarks._harness.redis import commands_run, counting, describe, start_redis
from benchmarks._harness.redis_time import ServerTime
from benchmarks._harness.run import Run, Summary, parse

RATE = "1000000/minute"
CLIENTS = [f"client-{i}" for i in range(1000)]
TASKS = 50
PACKAGES = ("limits", "pyrate-limiter", "slowapi", "flask-limiter", "fastapi", "starlette", "flask", "redis")


@functools.lru_cache(maxsize=8)
def keys_for(n: int) -> list[str]:
    """``n`` client keys, cycling through CLIENTS."""
    return [CLIENTS[i % len(CLIENTS)] for i in range(n)]


def sync_loop(check: Callable[[str], Any]) -> Runner:
    def run(n: int) -> None:
        for key in keys_for(n):
            check(key)

    return run


def measure(runners: dict[str, Runner], n: int, rounds: int) -> Samples:
    """Microseconds per operation, each runner once per round, in turn (warmed up: connections, scripts, caches)."""
    return measure_fixed(runners, n, rounds, warmup=max(50, n // 10))


def print_table(samples: Samples, base: str, unit: str = "us/check") -> None:
    """One line per runner; 'vs bk' is its time over the base runner's (> 1: the base is faster)."""
    print(f"  {'':<46}{unit:>10}{'median':>9}{'checks/s':>11}{'vs bk':>8}{'(median)':>10}")
    b, m = best(samples, base), median(samples, base)
    for name in samples:
        nb, nm = best(samples, name), median(samples, name)
        print(f"  {name:<46}{nb:>10.2f}{nm:>9.2f}{1e6 / nb:>11,.0f}{nb / b:>7.2f}x{nm / m:>9.2f}x")


def print_server(summary: Summary, client: Samples, server: Samples, base: str) -> None:
    """Redis's time per check (INFO commandstats, per batch) beside the client's, and checks/s per Redis core."""
    print(f"  Redis server time (INFO commandstats){'':<9}{'us/check':>10}{'median':>9}{'/s/core':>11}{'vs bk':>8}")
    b = best(server, base)
    for name in server:
        sb, sm = best(server, name), median(server, name)
        per_core = 1e6 / sb if sb > 0 else float("inf")
        print(f"  {name:<46}{sb:>10.2f}{sm:>9.2f}{per_core:>11,.0f}{sb / b:>7.2f}x")
        summary.note(
            f"redis server us/check, {name}",
            f"{sb:.2f} best, {sm:.2f} median (client {best(client, name):.1f}); {per_core:,.0f} checks/s per core",
        )


def report(summary: Summary, title: str, samples: Samples, base: str, target: tuple[str, str, float]) -> bool:
    """The case's table, then its target judged: (label, peer, wanted), peer / base at least ``wanted`` (best rounds).

    Returns whether it was met.
    """
    print(title)
    print_table(samples, base)
    label, peer, wanted = target
    value, med = ratio_of_bests(samples, peer, base)
    summary.target(label, value, med, value >= wanted)
    return value >= wanted


class StoreFailures(logging.Handler):
    """Counts the limiter's "store unavailable" warnings: a failing store would answer fast and wrongly."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "unavailable" in record.getMessage():
            self.count += 1


# --- 1. memory, one policy --------------------------------------------------------------------------------
def case_memory(args: argparse.Namespace, summary: Summary) -> None:
    from limits import parse
    from limits.storage import MemoryStorage
    from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

    from backendkit.ratelimit import RateLimiter, SlidingWindow, TokenBucket

    item = parse(RATE)
    checks: dict[str, Callable[[str], Any]] = {
        "backendkit SlidingWindow": RateLimiter(SlidingWindow(RATE)).hit,
        "backendkit TokenBucket": RateLimiter(TokenBucket(RATE)).hit,
        # each strategy on a storage of its own, as an application would have
        "limits FixedWindow": functools.partial(FixedWindowRateLimiter(MemoryStorage()).hit, item),
        "limits MovingWindow": functools.partial(MovingWindowRateLimiter(MemoryStorage()).hit, item),
        "limits SlidingWindowCounter": functools.partial(SlidingWindowCounterRateLimiter(MemoryStorage()).hit, item),
    }
    try:
        from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate

        # One InMemoryBucket behind Limiter (its SingleBucketFactory): every name shares that bucket.
        pyrate = Limiter(InMemoryBucket([Rate(1_000_000, Duration.MINUTE)]))
        checks["pyrate-limiter InMemoryBucket"] = functools.partial(pyrate.try_acquire, blocking=False)
    except Exception as exc:  # a peer that cannot run is reported, not faked
        print(f"  pyrate-limiter skipped: {exc!r}")
    for name, check in checks.items():
        result = check("sanity")
        assert getattr(result, "allowed", result) is True, (name, result)

    samples = measure({name: sync_loop(check) for name, check in checks.items()}, args.checks, args.rounds)
    title = f"1. memory, one policy ({RATE}); {args.checks} checks x {args.rounds} rounds"
    target = ("memory: >= 3x limits SWC", "limits SlidingWindowCounter", 3.0)
    report(summary, title, samples, "backendkit SlidingWindow", target)
    print()


# --- 2 and 3. Redis, sync ---------------------------------------------------------------------------------
THREE = ("1000000/second", "1000000/minute", "100000000/day")


def three_policies() -> list[Any]:
    from backendkit.ratelimit import SlidingWindow, TokenBucket

    return [TokenBucket(THREE[0], burst=1_000_000), SlidingWindow(THREE[1]), SlidingWindow(THREE[2])]


def case_redis_one(args: argparse.Namespace, summary: Summary, port: int) -> None:
    import redis
    from limits import parse
    from limits.storage import RedisStorage
    from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

    from backendkit.ratelimit import RateLimiter, RedisStore, SlidingWindow, TokenBucket
    from backendkit.ratelimit._stores.redis import SCRIPT, script_args

    store = RedisStore(redis.Redis(host="127.0.0.1", port=port))
    limiter = RateLimiter(SlidingWindow(RATE), store, on_store_error="closed")
    # The store's own client: the one given lends its settings, the store bounds its timeouts
    # (0.25 s) and drops its retries. The floor runs on it, so both pay for the same socket settings.
    client = store.client
    sha = client.script_load(SCRIPT)
    # The floor: the same command sent straight to redis-py, its arguments encoded once, the keys built
    # once (backendkit sends pre-encoded arguments too, so the floor must not pay for encoding them).
    argv = script_args(limiter._specs, 1, "hit")
    prepared = {key: limiter.keys(key) for key in CLIENTS}

    def bare(n: int) -> None:
        execute = client.execute_command
        for key in keys_for(n):
            keys = prepared[key]
            execute("EVALSHA", sha, len(keys), *keys, *argv)

    # A storage per strategy, each with its own key prefix: the strategies keep different types under one key.
    storages = {prefix: RedisStorage(f"redis://127.0.0.1:{port}", key_prefix=prefix) for prefix in ("fw", "mw", "swc")}
    item = parse(RATE)
    checks: dict[str, Callable[[str], Any]] = {
        "backendkit RedisStore": limiter.hit,
        "limits FixedWindow": functools.partial(FixedWindowRateLimiter(storages["fw"]).hit, item),
        "limits MovingWindow": functools.partial(MovingWindowRateLimiter(storages["mw"]).hit, item),
        "limits SlidingWindowCounter": functools.partial(SlidingWindowCounterRateLimiter(storages["swc"]).hit, item),
    }
    for name, check in checks.items():
        result = check("sanity")
        assert getattr(result, "allowed", result) is True, (name, result)
    # The same limiter with a token bucket: the script's other algorithm, for the server-time figures.
    checks["backendkit RedisStore TokenBucket"] = RateLimiter(TokenBucket(RATE), store, on_store_error="closed").hit
    for name, check in checks.items():
        result = check("sanity")
        assert getattr(result, "allowed", result) is True, (name, result)
    admin = redis.Redis(host="127.0.0.1", port=port)
    clock = ServerTime(admin)
    runners = {name: clock.wrap(name, sync_loop(check)) for name, check in checks.items()}
    runners = {"bare EVALSHA loop (same script, same client)": bare, **runners}

    samples = measure(runners, args.redis_checks, args.rounds)
    title = f"2. Redis, one policy ({RATE}); {args.redis_checks} checks x {args.rounds} rounds, one connection each"
    target = ("redis 1 policy: >= 0.9x bare EVALSHA checks/s", "bare EVALSHA loop (same script, same client)", 0.9)
    report(summary, title, samples, "backendkit RedisStore", target)
    print_server(summary, samples, clock.samples(args.rounds), "backendkit RedisStore")
    print()
    admin.close()
    client.close()
    for storage in storages.values():
        storage.storage.close()


def case_redis_three(args: argparse.Namespace, summary: Summary, port: int) -> None:
    import redis
    from limits import parse
    from limits.storage import RedisStorage
    from limits.strategies import SlidingWindowCounterRateLimiter

    from backendkit.ratelimit import RateLimiter, RedisStore

    items = [parse(rate) for rate in THREE]

    def backendkit_check(pool: Any = None) -> tuple[Callable[[str], Any], Any]:
        client = redis.Redis(connection_pool=pool) if pool else redis.Redis(host="127.0.0.1", port=port)
        return RateLimiter(three_policies(), RedisStore(client), on_store_error="closed").hit, client

    def limits_check(pool: Any = None) -> tuple[Callable[[str], Any], Any]:
        storage = RedisStorage(f"redis://127.0.0.1:{port}", connection_pool=pool)
        hit = SlidingWindowCounterRateLimiter(storage).hit
        first, second, third = items

        def check(key: str) -> bool:  # in a row, stopping at the first refusal, as flask-limiter does
            return hit(first, key) and hit(second, key) and hit(third, key)

        return check, storage.storage

    bk, peer = "backendkit, 3 policies, one check", "limits SWC, 3 hits in a row"
    builders = {bk: backendkit_check, peer: limits_check}
    checks = {name: build() for name, build in builders.items()}
    for name, (check, _) in checks.items():
        result = check("sanity")
        assert getattr(result, "allowed", result) is True, (name, result)
    admin = redis.Redis(host="127.0.0.1", port=port)
    clock = ServerTime(admin)
    runners = {name: clock.wrap(name, sync_loop(check)) for name, (check, _) in checks.items()}
    samples = measure(runners, args.redis_checks, args.rounds)
    title = f"3. Redis, three policies ({', '.join(THREE)}); {args.redis_checks} checks x {args.rounds} rounds"
    report(summary, title, samples, bk, ("redis 3 policies: >= 2.5x limits SWC x3 checks/s", peer, 2.5))
    print_server(summary, samples, clock.samples(args.rounds), bk)
    for _, client in checks.values():
        client.close()

    # Round trips and server-side commands, on clients that count what they send.
    connection_class = counting(redis.Connection)
    n = 1000
    print(f"  per check, over {n} checks:{'round trips':>27}{'commands run':>14}   (commands by name)")
    for name, build in builders.items():
        pool = redis.ConnectionPool(host="127.0.0.1", port=port, connection_class=connection_class)
        check, client = build(pool)
        for key in CLIENTS[:20]:
            check(key)  # connect, load the scripts
        connection_class.sent = 0
        with commands_run(admin) as calls:
            for key in keys_for(n):
                check(key)
        sent = connection_class.sent
        detail = ", ".join(f"{command} {count / n:g}" for command, count in sorted(calls.items()))
        print(f"    {name:<44}{sent / n:>7.2f}{sum(calls.values()) / n:>14.2f}   ({detail})")
        summary.note(f"round trips per check, {name}", f"{sent / n:.2f} ({sum(calls.values()) / n:.2f} commands run)")
        client.close()
    admin.close()
    print("  (round trips: commands the client sent; commands run: INFO commandstats without info/config,")
    print("   which counts the commands a Lua script runs as well as the EVALSHA itself)")
    print()


# --- 4. async Redis ---------------------------------------------------------------------------------------
def async_runner(loop: asyncio.AbstractEventLoop, check: Callable[[str], Any], tasks: int) -> Runner:
    async def worker(keys: list[str]) -> None:
        for key in keys:
            await check(key)

    async def many(n: int) -> None:
        keys = keys_for(n)
        await asyncio.gather(*(worker(keys[i::tasks]) for i in range(tasks)))

    return lambda n: loop.run_until_complete(many(n))


def case_async(args: argparse.Namespace, summary: Summary, port: int) -> None:
    import redis.asyncio
    from limits import parse
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import SlidingWindowCounterRateLimiter

    from backendkit.ratelimit import AsyncRateLimiter, AsyncRedisStore, SlidingWindow

    loop = asyncio.new_event_loop()
    store = AsyncRedisStore(f"redis://127.0.0.1:{port}")
    limiter = AsyncRateLimiter(SlidingWindow(RATE), store, on_store_error="closed")
    # coredis is limits' default async client; this environment has redis-py, so that one.
    storage = RedisStorage(f"async+redis://127.0.0.1:{port}", implementation="redispy")
    # For reference: the store on a client configured as limits configures its own (a plain pool, no timeouts).
    plain = redis.asyncio.Redis.from_url(f"redis://127.0.0.1:{port}")
    on_plain = AsyncRateLimiter(SlidingWindow(RATE), AsyncRedisStore(plain), on_store_error="closed")
    item = parse(RATE)
    bk, peer = "backendkit AsyncRedisStore(url)", "limits aio RedisStorage SWC"
    checks = {
        bk: limiter.hit,
        "backendkit AsyncRedisStore(plain client)": on_plain.hit,
        peer: functools.partial(SlidingWindowCounterRateLimiter(storage).hit, item),
    }
    for name, check in checks.items():
        result = loop.run_until_complete(check("sanity"))
        assert getattr(result, "allowed", result) is True, (name, result)
    samples = measure(
        {name: async_runner(loop, check, TASKS) for name, check in checks.items()}, args.redis_checks, args.rounds
    )
    title = f"4. async Redis, one policy, {TASKS} concurrent tasks; {args.redis_checks} checks x {args.rounds} rounds"
    report(summary, title, samples, bk, ("async redis, 50 tasks: ahead of limits aio SWC", peer, 1.0))
    print()
    loop.run_until_complete(store.aclose())
    loop.run_until_complete(plain.aclose())
    loop.run_until_complete(storage.bridge.storage.aclose())
    loop.close()


# --- 5. HTTP ----------------------------------------------------------------------------------------------
def fastapi_app(variant: str) -> Any:
    from fastapi import Depends, FastAPI

    app = FastAPI()
    if variant.startswith("slowapi"):
        from slowapi import Limiter, _rate_limit_exceeded_handler
        from slowapi.errors import RateLimitExceeded
        from slowapi.util import get_remote_address

        if variant == "slowapi":
            limiter = Limiter(key_func=get_remote_address)
        else:
            limiter = Limiter(key_func=get_remote_address, strategy="sliding-window-counter", headers_enabled=True)
        app.state.limiter = limiter
        app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]

        @app.get("/x")
        @limiter.limit(RATE)
        async def limited(request: Request, response: Response) -> dict[str, bool]:
            return {"ok": True}  # slowapi writes its headers on the injected response

        return app
    dependencies = []
    if variant.startswith("backendkit"):
        from backendkit.fastapi import install
        from backendkit.fastapi.ratelimit import RateLimitMiddleware, limit
        from backendkit.ratelimit import Limit

        if variant == "backendkit + middleware":  # as the module's docs set it up: the middleware, then install
            app.add_middleware(RateLimitMiddleware, limits=Limit(RATE))
        install(app)
        if variant == "backendkit + limit":
            dependencies = [Depends(limit(Limit(RATE)))]

    @app.get("/x", dependencies=dependencies)
    async def endpoint() -> dict[str, bool]:
        return {"ok": True}

    return app


def asgi_runner(app: Any) -> tuple[Runner, Callable[[], int]]:
    driver = ASGIDriver(app, http_scope("GET", "/x", [(b"host", b"bench")]))
    return driver.run, lambda: driver.request().status


def flask_app(variant: str) -> Any:
    from flask import Flask, jsonify

    app = Flask("bench")
    if variant.startswith("flask-limiter"):
        from flask_limiter import Limiter
        from flask_limiter.util import get_remote_address

        if variant == "flask-limiter":
            limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")
        else:
            limiter = Limiter(
                get_remote_address,
                app=app,
                storage_uri="memory://",
                strategy="sliding-window-counter",
                headers_enabled=True,
            )

        @app.get("/x")
        @limiter.limit(RATE)
        def limited() -> Any:
            return jsonify(ok=True)

        return app
    if variant.startswith("backendkit"):
        from backendkit.flask import BackendKit
        from backendkit.flask.ratelimit import limit
        from backendkit.ratelimit import Limit

        BackendKit(app, rate_limits=Limit(RATE) if variant == "backendkit + rate_limits" else None)
        if variant == "backendkit + limit":

            @app.get("/x")
            @limit(Limit(RATE))
            def limited_by_backendkit() -> Any:
                return jsonify(ok=True)

            return app

    @app.get("/x")
    def endpoint() -> Any:
        return jsonify(ok=True)

    return app


def wsgi_runner(app: Any) -> tuple[Runner, Callable[[], int]]:
    driver = WSGIDriver(app, wsgi_environ("GET", "/x", REMOTE_ADDR="127.0.0.1"))
    return driver.run, lambda: driver.request().status


def added(samples: Samples, name: str, baseline: str) -> tuple[float, float]:
    """What ``name`` costs over ``baseline``: best minus best, median minus median."""
    return best(samples, name) - best(samples, baseline), median(samples, name) - median(samples, baseline)


def case_http(args: argparse.Namespace, summary: Summary) -> None:
    logging.disable(logging.CRITICAL)
    print(f"5. HTTP, in-process, all stores in memory; {args.requests} requests x {args.rounds} rounds; us/request")
    print("   (the peers as configured by default: fixed window, no rate-limit headers; the '+ SWC + headers'")
    print("    rows are the peer doing what backendkit does: a sliding-window counter and rate-limit headers)")
    print("   backendkit is measured both ways it limits requests: per route (FastAPI dependency, Flask decorator,")
    print("    against the peer's decorator) and for every request (the pure ASGI RateLimitMiddleware on FastAPI,")
    print("    the extension's rate_limits on Flask); each is judged against the peer's decorator")
    frameworks = [
        ("fastapi", fastapi_app, asgi_runner, "slowapi", 0.5, ("backendkit + limit", "backendkit + middleware")),
        ("flask", flask_app, wsgi_runner, "flask-limiter", 0.25, ("backendkit + limit", "backendkit + rate_limits")),
    ]
    for framework, build, runner, peer, target, mine in frameworks:
        like_ours = f"{peer} + SWC + headers"
        variants = ["bare", "backendkit", *mine, peer, like_ours]
        runners: dict[str, Runner] = {}
        for variant in variants:
            try:
                run, one_status = runner(build(variant))
                code = one_status()
                if code != 200:
                    raise RuntimeError(f"answered {code}")
                runners[variant] = run
            except Exception as exc:  # a peer that cannot run is reported, not faked
                print(f"  {framework} {variant} skipped: {exc!r}")
        samples = measure(runners, args.requests, args.rounds)
        print(f"  {framework:<50}{'best':>8}{'median':>9}")
        for name in samples:
            print(f"    {name:<48}{best(samples, name):>8.1f}{median(samples, name):>9.1f}")
        ours = {name: added(samples, name, "backendkit") for name in mine if name in samples}
        for name, (ours_best, ours_median) in ours.items():
            print(f"    {f'added: {name} (vs backendkit alone)':<48}{ours_best:>8.1f}{ours_median:>9.1f}")
        for name in (peer, like_ours):
            if name in samples:
                theirs = added(samples, name, "bare")
                print(f"    {f'added: {name} (vs bare)':<48}{theirs[0]:>8.1f}{theirs[1]:>9.1f}")
        for name in mine:
            label = f"{framework}, {name.removeprefix('backendkit + ')}: added <= {target}x {peer}'s"
            if peer not in samples or name not in ours:
                summary.target(label, None, None, None)
                continue
            theirs = added(samples, peer, "bare")
            ratio = ours[name][0] / theirs[0] if theirs[0] > 0 else None
            med = ours[name][1] / theirs[1] if theirs[1] > 0 else None
            shown = "n/a" if ratio is None else f"{ratio:.2f}"
            print(f"    {name} added / {peer} added: {shown} (best)")
            summary.target(label, ratio, med, None if ratio is None else ratio <= target)
            summary.note(
                f"{framework}, {name.removeprefix('backendkit + ')}: added us/request",
                f"backendkit {ours[name][0]:.1f}, {peer} {theirs[0]:.1f} (best)",
            )
        if like_ours in samples:
            alike = added(samples, like_ours, "bare")[0]
            summary.note(f"{framework} added, {like_ours}", f"{alike:.1f} us/request (best), for reference")
    logging.disable(logging.NOTSET)
    print()


# --- 6. bytes per key -------------------------------------------------------------------------------------
def traced_bytes(setup: Callable[[], Callable[[str], Any]], keys: int, settle: Callable[[Any], None]) -> float:
    """Bytes per key that ``keys`` distinct keys leave allocated (tracemalloc, after a full collection)."""
    tracemalloc.start()
    try:
        check = setup()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(keys):
            check(f"client-{i}")
        settle(check)
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - before) / keys
    finally:
        tracemalloc.stop()


def case_bytes(args: argparse.Namespace, summary: Summary) -> None:
    from limits import parse
    from limits.storage import MemoryStorage
    from limits.strategies import SlidingWindowCounterRateLimiter

    from backendkit.ratelimit import MemoryStore, RateLimiter, SlidingWindow

    print(f"6. memory per key, one sliding-window policy ({RATE}), {args.keys:,} distinct keys (tracemalloc)")
    stores: list[Any] = []

    def backendkit_setup() -> Callable[[str], Any]:
        store = MemoryStore(max_keys=max(args.keys, 1))
        stores.append(store)
        return RateLimiter(SlidingWindow(RATE), store).hit

    def backendkit_settle(_: Any) -> None:
        assert len(stores[-1]) == args.keys

    start = time.perf_counter()
    per_key = traced_bytes(backendkit_setup, args.keys, backendkit_settle)
    stores.clear()
    print(f"  {'backendkit MemoryStore':<46}{per_key:>8.0f} bytes/key   ({time.perf_counter() - start:.1f} s)")
    summary.note("bytes per key, backendkit MemoryStore", f"{per_key:.0f} at {args.keys:,} keys")
    if args.skip_limits_memory:
        print("  limits MemoryStorage SWC: skipped (--skip-limits-memory)")
        print()
        return

    storages: list[Any] = []

    def limits_setup() -> Callable[[str], Any]:
        storage = MemoryStorage()
        storages.append(storage)
        return functools.partial(SlidingWindowCounterRateLimiter(storage).hit, parse(RATE))

    def limits_settle(_: Any) -> None:
        # Its expiry thread copies the key list every 10 ms while hits arrive: let the last pass finish.
        storages[-1].timer.join()

    start = time.perf_counter()
    per_key = traced_bytes(limits_setup, args.keys, limits_settle)
    storages.clear()
    print(f"  {'limits MemoryStorage SWC':<46}{per_key:>8.0f} bytes/key   ({time.perf_counter() - start:.1f} s)")
    summary.note("bytes per key, limits MemoryStorage SWC", f"{per_key:.0f} at {args.keys:,} keys")
    print()


def run_redis_cases(args: argparse.Namespace, summary: Summary, port: int, cases: set[int]) -> None:
    import redis

    with redis.Redis(host="127.0.0.1", port=port) as admin:
        print(describe(admin, f"127.0.0.1:{port}") + "\n")
    if 2 in cases:
        case_redis_one(args, summary, port)
    if 3 in cases:
        case_redis_three(args, summary, port)
    if 4 in cases:
        case_async(args, summary, port)


# --- main -------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--checks", type=int, default=20_000, help="memory checks per round")
    parser.add_argument("--redis-checks", type=int, default=5_000, help="Redis checks per round")
    parser.add_argument("--requests", type=int, default=2_000, help="HTTP requests per round")
    parser.add_argument("--keys", type=int, default=1_000_000, help="distinct keys for the bytes-per-key case")
    parser.add_argument("--skip-limits-memory", action="store_true", help="no bytes-per-key figure for limits")
    parser.add_argument("--redis-server", default="redis-server", help="the redis-server executable")
    parser.add_argument("--cases", default="1,2,3,4,5,6", help="which cases to run, comma-separated")
    quick = {"rounds": 2, "checks": 500, "redis_checks": 200, "requests": 100, "keys": 2000}
    args = parse(parser, quick=quick)
    cases = {int(case) for case in args.cases.split(",")}

    run = Run(("backendkit", *PACKAGES))
    run.header(f"{len(CLIENTS)} client keys cycled; rounds interleaved; best and median round")

    summary = Summary()
    failures = StoreFailures()
    logging.getLogger("backendkit.ratelimit").addHandler(failures)
    if 1 in cases:
        case_memory(args, summary)
    if cases & {2, 3, 4}:
        server = start_redis(shutil.which(args.redis_server) or args.redis_server)
        try:
            run_redis_cases(args, summary, server.port, cases)
        finally:
            server.stop()
    if 5 in cases:
        case_http(args, summary)
    if 6 in cases:
        case_bytes(args, summary)

    summary.note("backendkit store failures during the run", str(failures.count))
    summary.print()
    run.footer()


if __name__ == "__main__":
    main()
