"""Every benchmark runs its cases in a smoke run (BACKENDKIT_BENCH_QUICK=1) and prints its figures.

No timing is asserted: a smoke run's figures mean nothing. The benchmarks need the peers of the
``bench`` extra (``pip install -e ".[bench]"``); without them a benchmark's test is skipped.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import required as postgres_required
from tests.support.postgres import server_url as postgres_url
from tests.support.redis import redis_binary

ROOT = Path(__file__).resolve().parent.parent

# What the bench extra installs beyond the test extra: one importable module of each peer.
BENCH_EXTRA = (
    "pythonjsonlogger", "pyrate_limiter", "slowapi", "flask_limiter", "fastapi_pagination", "sqlakeyset",
    "fastapi_health", "health_check", "prometheus_fastapi_instrumentator", "prometheus_flask_exporter",
    "django_prometheus", "opentelemetry.instrumentation.fastapi", "secure", "rest_framework_api_key",
    "rest_framework_simplejwt",
)  # fmt: skip
# benchmark: (the modules it imports beyond the test extra's, whether it needs redis-server, labels of its figures)
BENCHMARKS: dict[str, tuple[tuple[str, ...], bool, tuple[str, ...]]] = {
    "errors_bench": (
        ("fastapi", "flask", "django", "pydantic"),
        False,
        ("fastapi", "fastapi + 3 middleware", "flask", "django"),
    ),
    "logging_bench": (
        ("structlog", "pythonjsonlogger", "orjson"),
        False,
        ("backendkit JSONFormatter + orjson", "python-json-logger JsonFormatter", "stdlib text formatter"),
    ),
    "health_bench": (
        ("fastapi_health", "health_check", "django"),
        False,
        (
            "three checks: backendkit FastAPI (interval 0) <= slowest x 1.1 + 1 ms",
            "info, three slow checks: django-health-check / backendkit Django (interval 0)",
            "FastAPI: cached /readyz <= plain route x (1 + noise)",
            "Django: cached /readyz <= plain route x (1 + noise)",
            "Health.response(report, ''): body built, encoded",
        ),
    ),
    "auth_bench": (
        ("jose", "jwt", "cryptography", "fastapi", "redis"),
        True,
        (
            "backendkit verify (python-jose backend)",
            "RS256 python-jose jwt.decode / backendkit claims (PyJWT backend) >= 2.0x",
            "http: tutorial added / backendkit added >= 1.0x",
            "jwks: cached kid lookup adds < 1 us to verify",
            "redis: 1 round trip / 1 command per revocation check",
        ),
    ),
    "idempotency_bench": (
        ("fastapi", "flask", "redis", "werkzeug"),
        True,
        (
            "FastAPI added: backendkit per route, MemoryStore",
            "FastAPI added: backendkit per route, AsyncRedisStore",
            "Flask added: backendkit @idempotent, RedisStore",
            "FastAPI piece: IdempotencyMiddleware(app_wide=False) alone (buffering)",
            "core: Idempotency.start, a replay",
            "Redis round trips per request: Flask, backendkit RedisStore",
            "one bare round trip, us",
        ),
    ),
    "ratelimit_bench": (
        ("limits", "slowapi", "flask_limiter", "redis"),
        True,
        (
            "memory: >= 3x limits SWC",
            "redis 1 policy: >= 0.9x bare EVALSHA checks/s",
            "round trips per check, backendkit, 3 policies, one check",
            "async redis, 50 tasks: ahead of limits aio SWC",
            "fastapi, middleware: added us/request",
            "flask, rate_limits: added us/request",
            "bytes per key, limits MemoryStorage SWC",
        ),
    ),
    "observability_bench": (
        ("fastapi", "flask", "django", "prometheus_client", "opentelemetry.sdk"),
        False,
        (
            "FastAPI 200: PrometheusMetrics added / prometheus-fastapi-instrumentator's <= 0.5",
            "FastAPI 200: OpenTelemetry added / opentelemetry-instrumentation-fastapi's <= 0.5",
            "FastAPI 200: do-nothing observer added",
            "FastAPI 200: A/A control added",
            "FastAPI 404: PrometheusMetrics added / prometheus-fastapi-instrumentator's",
            "Flask 200: PrometheusMetrics added / prometheus-flask-exporter's <= 0.5",
            "Django 200: PrometheusMetrics added / django-prometheus's <= 0.5",
            "nothing configured: one emission check",
            "nothing configured: Limit.check (memory store)",
            "nothing configured: BearerAuth.authenticate (HS256)",
        ),
    ),
    "security_bench": (
        ("fastapi", "flask", "django", "flask_cors", "corsheaders", "secure"),
        False,
        (
            "FastAPI cors: backendkit CORS added vs the cheapest peer's (<=)",
            "FastAPI preflight: backendkit CORS added vs the cheapest peer's (<=)",
            "FastAPI headers: backendkit SecurityHeaders added vs the cheapest peer's (<=)",
            "FastAPI both: backendkit CORS + SecurityHeaders added vs the cheapest peer's",
            "Flask cors: backendkit CORS added vs the cheapest peer's (<=)",
            "Flask preflight: backendkit CORS added vs the cheapest peer's (<=)",
            "Flask headers: backendkit SecurityHeaders added vs the cheapest peer's (<=)",
            "Django cors: backendkit CORS added vs the cheapest peer's (<=)",
            "Django preflight: backendkit CORS added vs the cheapest peer's (<=)",
            "Django headers: backendkit SecurityHeaders added vs the cheapest peer's (<=)",
            "Django headers: A/A control added",
        ),
    ),
    "pagination_bench": (
        ("fastapi_pagination", "sqlakeyset", "psycopg", "sqlalchemy"),
        False,
        (
            "sqlite: backendkit keyset deep/page 1 <= 1.5x",
            "sqlite: cursor, as shipped / bk keyset, page 1 | deep",
            "cursor encode + decode < 10 us",
            "fastapi-pagination cursor encode + decode",
        ),
    ),
    "credentials_bench": (
        ("django", "rest_framework", "rest_framework_api_key", "rest_framework_simplejwt", "redis", "sqlalchemy"),
        True,
        (
            "cached key check < 5 us",
            "miss: per check, backendkit verify, MemoryKeyStore",
            "http, SQLite: backendkit JWTAuthentication + BearerAuth(APIKeyVerifier), cached added < HasAPIKey's",
            "refresh: MemoryRefreshStore, us",
        ),
    ),
    "stack_bench": (
        (
            *("uvicorn", "uvloop", "httptools", "gunicorn", "asgi_correlation_id", "jwt", "flask_jwt_extended"),
            *("rest_framework_simplejwt", "django_ratelimit", "django_structlog"),
        ),
        True,
        (
            "FastAPI GET /me: backendkit / peers req/s",
            "FastAPI GET /tasks?limit=20: backendkit / peers req/s",
            "FastAPI POST /tasks new key: backendkit / peers req/s",
            "FastAPI POST /tasks replay: backendkit / peers req/s",
            "Flask GET /me: backendkit / peers req/s",
            "Flask GET /tasks?limit=20: backendkit / peers req/s",
            "Django GET /me: backendkit / peers req/s",
            "Django GET /tasks?limit=20: backendkit / peers req/s",
        ),
    ),
}
# The benchmarks that drive real servers with wrk: skipped without it.
NEEDS_WRK = {"stack_bench"}
# The benchmarks that sample their servers with py-spy when given --profile: their profile tables, one per route.
PROFILED = {"stack_bench": 8}
# The benchmarks that also run on the local PostgreSQL when it answers: the labels they add then.
POSTGRES_LABELS = {
    "pagination_bench": ("postgresql: backendkit keyset deep/page 1 <= 1.5x",),
    "credentials_bench": (
        "http, PostgreSQL: backendkit JWTAuthentication + BearerAuth(APIKeyVerifier), cached added < HasAPIKey's",
        "refresh: per rotation, simplejwt TokenRefreshSerializer + blacklist (PostgreSQL)",
    ),
}


def postgres_reachable() -> bool:
    import psycopg

    try:
        with psycopg.connect(postgres_url(), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        if postgres_required():
            raise
        return False


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_benchmark_prints_its_figures(name: str, tmp_path: Path) -> None:
    modules, needs_redis, labels = BENCHMARKS[name]
    # The benchmarks run with the whole bench extra, on today's releases (CI's "benchmarks" step):
    # a virtualenv without it (CI's lowest leg has the test extra only) runs none of them.
    missing = [module for module in (*BENCH_EXTRA, *modules) if importlib.util.find_spec(module) is None]
    if missing:
        message = f"{name} needs {', '.join(missing)}: pip install -e '.[bench]'"
        if os.environ.get("BACKENDKIT_REQUIRE_BENCH", "") not in ("", "0"):
            pytest.fail(f"BACKENDKIT_REQUIRE_BENCH is set but {message}")  # (CI installs the extra)
        pytest.skip(message)
    if name in NEEDS_WRK and shutil.which("wrk") is None:
        pytest.skip(f"{name} drives its servers with wrk: apt-get install wrk")
    if needs_redis:
        redis_binary()  # skips without redis-server (fails when BACKENDKIT_REQUIRE_REDIS is set)
    arguments: list[str] = []
    if name in POSTGRES_LABELS:
        if postgres_reachable():
            arguments += ["--postgres-url", postgres_url()]
            labels = (*labels, *POSTGRES_LABELS[name])
        else:
            arguments.append("--skip-postgres")
    if name in PROFILED:
        arguments += ["--profile", str(tmp_path)]
    # The checkout's sources first, whatever the virtualenv has installed.
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "BACKENDKIT_BENCH_QUICK": "1", "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    out = result.stdout
    assert re.search(r"^machine: .+$", out, re.MULTILINE), out[:500]
    assert re.search(r"^versions: python \d", out, re.MULTILINE), out[:500]
    for label in labels:  # each figure's line: its label first, then a number
        assert re.search(rf"^\s*{re.escape(label)}.*\d", out, re.MULTILINE), (label, out[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    if name in PROFILED:  # each route's table ends with the sampled total, in µs per request and as a share
        totals = re.findall(r"^\s+total \(GIL held\)\s+(\d+\.\d)\s+100%\s+(\d+\.\d)\s+100%$", out, re.MULTILINE)
        assert len(totals) == PROFILED[name], out[-3000:]
        assert all(float(bk) > 0 and float(peers) > 0 for bk, peers in totals), totals
        assert len(list(tmp_path.glob("*.txt"))) == 2 * PROFILED[name]  # py-spy's stacks, kept
