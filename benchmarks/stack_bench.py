"""The whole stack under load: the tasks API with every piece on, backendkit's against the peers a team picks today.

Each app has request ids, errors, JSON access logs (formatted, written to ``os.devnull``), one Redis rate
limit on every route (never refusing), HS256 JWT on ``GET /me``, a page of a 1,000-task list on
``GET /tasks?limit=20`` and, on FastAPI, an idempotency key on ``POST /tasks``:

- FastAPI (uvicorn, 1 worker, uvloop + httptools): backendkit, against asgi-correlation-id +
  python-json-logger (uvicorn's access log) + slowapi (Redis) + PyJWT in a dependency +
  fastapi-pagination (limit/offset: it pages lists no other way) + asgi-idempotency-header (Redis);
- Flask (gunicorn, 1 worker, 4 threads): backendkit, against flask-limiter (Redis) + flask-jwt-extended +
  python-json-logger (an ``after_request`` access line) + a hand-written limit/offset slice. No POST route:
  no Flask peer keeps idempotency keys, so neither variant has it;
- Django (gunicorn, 1 worker, 4 threads, sync WSGI): backendkit, against django-ratelimit (Django's
  RedisCache) + djangorestframework-simplejwt (``JWTStatelessUserAuthentication``) + django-structlog (JSON)
  + DRF ``CursorPagination``, both paging a 1,000-row SQLite table. No POST route either: no Django peer
  keeps idempotency keys.

The apps are in ``benchmarks/_stack_*.py``. One
redis-server is started on a free port for the run. Each route is driven by ``wrk -t1 -c16`` over
loopback for ``--seconds`` (a Lua script sends a fresh ``Idempotency-Key`` per request, or a replayed one,
or the ``Authorization`` header); the variants alternate (backendkit, peers, then peers, backendkit, ...),
route by route. Reported: requests/s and p50/p99 latency, best and median over the rounds, and the ratio
backendkit / peers. Target: >= 1.3x the peers' requests/s at a p99 no worse, on every framework and route.

With ``--profile DIR``, each route and variant is driven once more while py-spy samples the server, and the
server's CPU time per request is printed by component (``benchmarks/_harness/cpu_profile.py`` says how a
sample is charged); py-spy's collapsed stacks are kept in DIR.

    python benchmarks/stack_bench.py [--rounds 4] [--seconds 8] [--connections 16]
        [--only fastapi,flask,django] [--wrk /usr/bin/wrk] [--redis-server redis-server] [--quick]
        [--profile DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from benchmarks._harness import cpu_profile  # noqa: E402
from benchmarks._harness.redis import start_redis  # noqa: E402
from benchmarks._harness.run import Run, Summary, add_only, only, parse  # noqa: E402
from benchmarks._stack_common import REDIS_ENV, token  # noqa: E402
from benchmarks._stack_wrk import Result, Wrk  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.servers import stop_process  # noqa: E402

FRAMEWORKS = ("fastapi", "flask", "django")
TITLES = {"fastapi": "FastAPI", "flask": "Flask", "django": "Django"}
VARIANTS = ("backendkit", "peers")
# route: (path, wrk script, the frameworks that have it)
ROUTES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "GET /me": ("/me", "bearer", FRAMEWORKS),
    "GET /tasks?limit=20": ("/tasks?limit=20", None, FRAMEWORKS),
    "POST /tasks new key": ("/tasks", "new_key", ("fastapi",)),
    "POST /tasks replay": ("/tasks", "replay", ("fastapi",)),
}
PACKAGES = (
    "fastapi", "uvicorn", "uvloop", "httptools", "flask", "gunicorn", "redis", "asgi-correlation-id",
    "python-json-logger", "slowapi", "limits", "pyjwt", "fastapi-pagination", "asgi-idempotency-header",
    "flask-limiter", "flask-jwt-extended", "django", "djangorestframework", "djangorestframework-simplejwt",
    "django-ratelimit", "django-structlog",
)  # fmt: skip
BODY = b'{"title":"write the report","priority":3}'  # byte for byte what the Lua scripts send


def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    data = BODY if method == "POST" else None
    sent = {"Content-Type": "application/json", **(headers or {})} if data else dict(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


class Server:
    """One variant of one framework's app, in a server process of its own."""

    def __init__(self, framework: str, variant: str, redis_url: str, *, gc_freeze: bool = False) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, REDIS_ENV: redis_url, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        if gc_freeze:
            env["STACK_BENCH_GC_FREEZE"] = "1"
        command = [sys.executable, "-m", "benchmarks._stack_serve", framework, variant, str(self.port)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                fetch(self.base + "/tasks?limit=1")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{framework} {variant}: the server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self.process)


def check_routes(server: Server, bearer: str, replay_key: str, routes: list[str]) -> None:
    """Every route answers as the benchmark expects before anything is timed (a replay: the first answer again)."""
    expected = {
        "GET /me": fetch(server.base + "/me", headers={"Authorization": f"Bearer {bearer}"}),
        "GET /tasks?limit=20": fetch(server.base + "/tasks?limit=20"),
    }
    if "POST /tasks new key" in routes:
        key = {"Idempotency-Key": f"check-{uuid.uuid4().hex}"}
        expected["POST /tasks new key"] = fetch(server.base + "/tasks", method="POST", headers=key)
        first = fetch(server.base + "/tasks", method="POST", headers={"Idempotency-Key": replay_key})
        again = fetch(server.base + "/tasks", method="POST", headers={"Idempotency-Key": replay_key})
        if again != first:
            raise RuntimeError(f"{server.base}: a replay answered {again} after {first}")
        expected["POST /tasks replay"] = again
    for route in routes:
        status, body = expected[route]
        if status not in (200, 201):
            raise RuntimeError(f"{server.base} {route}: {status} {body[:300]!r}")
    page = json.loads(expected["GET /tasks?limit=20"][1])
    items = page.get("data", page.get("items", page.get("results")))  # DRF's pages call them results
    if len(items) != 20:
        raise RuntimeError(f"{server.base} GET /tasks?limit=20 served {len(items)} items")


def drive(wrk: Wrk, server: Server, route: str, seconds: float, bearer: str, replay_key: str) -> Result:
    path, script, _ = ROUTES[route]
    args = {"bearer": (bearer,), "new_key": (uuid.uuid4().hex,), "replay": (replay_key.removeprefix("replay-"),)}
    return wrk.run(server.base + path, seconds, script, args.get(script or "", ()))


def report(title: str, route: str, results: dict[str, list[Result]], summary: Summary) -> None:
    rows = {}
    for variant in VARIANTS:
        runs = results[variant]
        rates = [r.requests_per_s for r in runs]
        p99s = [r.p99_ms for r in runs]
        p50 = statistics.median(r.p50_ms for r in runs)
        errors = sum(r.errors for r in runs)
        rows[variant] = (max(rates), statistics.median(rates), p50, statistics.median(p99s), min(p99s), errors)
        best, med, _, p99, p99_best, _ = rows[variant]
        print(
            f"  {title} {route:<22} {variant:<11} best {best:8.0f} req/s  median {med:8.0f}  "
            f"p50 {p50:6.2f} ms  p99 {p99:7.2f} ms (best {p99_best:.2f})  "
            f"rounds: {', '.join(f'{r:.0f}' for r in rates)}" + (f"  ERRORS {errors}" if errors else "")
        )
    bk, peers = rows["backendkit"], rows["peers"]
    ratio, median_ratio = bk[0] / peers[0], bk[1] / peers[1]
    ok = ratio >= 1.3 and bk[3] <= peers[3] and bk[5] == 0 and peers[5] == 0
    summary.judge(
        f"{title} {route}: backendkit / peers req/s",
        f"{ratio:.2f}x (median {median_ratio:.2f}x), p99 {bk[3]:.1f} vs {peers[3]:.1f} ms",
        ok,
    )


def profile(
    framework: str, route: str, servers: dict[str, Server], wrk: Wrk, args: argparse.Namespace, bearer: str, replay: str
) -> None:
    """One more drive of the route per variant, py-spy sampling the server: its CPU per request by component."""
    binary = cpu_profile.available()
    assert binary is not None  # checked in main()
    samples, requests, rate = {}, {}, 400
    for variant, server in servers.items():
        out = args.profile / f"{framework}-{variant}-{route.replace(' ', '_').replace('/', '').replace('?', '_')}.txt"
        sampler = cpu_profile.Sampler(binary, server.process.pid, args.seconds, out, rate=rate)
        result = drive(wrk, server, route, args.seconds, bearer, replay)
        samples[variant] = sampler.wait()
        requests[variant] = result.requests_per_s * max(1, round(args.seconds))
    rates = ", ".join(f"{v} {requests[v] / max(1, round(args.seconds)):.0f} req/s" for v in servers)
    print(f"  {TITLES[framework]} {route}: where the server's CPU goes (py-spy, {rate} Hz, GIL held; sampled: {rates})")
    print("\n".join(cpu_profile.table(samples, requests, rate)))


def run_framework(framework: str, args: argparse.Namespace, redis_url: str, wrk: Wrk, summary: Summary) -> None:
    title = TITLES[framework]
    routes = [route for route, (_, _, where) in ROUTES.items() if framework in where]
    bearer = token()
    replay_key = f"replay-{uuid.uuid4().hex}"
    servers = {variant: Server(framework, variant, redis_url, gc_freeze=args.gc_freeze) for variant in VARIANTS}
    try:
        for server in servers.values():
            check_routes(server, bearer, replay_key, routes)
            for route in routes:  # warm up: imports, connections, caches
                drive(wrk, server, route, 1, bearer, replay_key)
        results: dict[str, dict[str, list[Result]]] = {route: {v: [] for v in VARIANTS} for route in routes}
        for round_ in range(args.rounds):
            order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]  # backendkit, peers, peers, backendkit, ...
            for route in routes:
                for variant in order:
                    result = drive(wrk, servers[variant], route, args.seconds, bearer, replay_key)
                    results[route][variant].append(result)
        print(f"{title}: {args.rounds} rounds of {args.seconds:g} s per route and variant, wrk -c{args.connections}")
        for route in routes:
            report(title, route, results[route], summary)
            if args.profile is not None:
                profile(framework, route, servers, wrk, args, bearer, replay_key)
        print()
    finally:
        for server in servers.values():
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4, help="rounds per route and variant (alternating order)")
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk's duration per route, variant and round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk", default="wrk", help="the wrk executable")
    parser.add_argument("--redis-server", default="redis-server", help="the redis-server executable")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="both variants call gc.freeze() once their app is built"
    )
    parser.add_argument("--profile", type=Path, help="sample each server with py-spy; its stacks are kept here")
    add_only(parser, FRAMEWORKS)
    args = parse(parser, quick={"rounds": 1, "seconds": 1.0})
    frameworks = only(parser, args, FRAMEWORKS)
    if args.profile is not None:
        if cpu_profile.available() is None:
            parser.error("--profile needs py-spy: pip install py-spy")
        args.profile.mkdir(parents=True, exist_ok=True)
    wrk_binary = shutil.which(args.wrk)
    if wrk_binary is None:
        parser.error(f"wrk not found ({args.wrk}): apt-get install wrk")
    run = Run(("backendkit", *PACKAGES))
    run.header(f"wrk -t1 -c{args.connections}, {args.seconds:g} s per run; {args.rounds} alternating rounds")
    server = start_redis(shutil.which(args.redis_server) or args.redis_server)
    wrk = Wrk(wrk_binary, args.connections)
    summary = Summary()
    try:
        for framework in frameworks:
            run_framework(framework, args, server.url, wrk, summary)
    finally:
        wrk.close()
        server.stop()
    summary.print()
    run.footer()


if __name__ == "__main__":
    main()
