"""API keys and refresh tokens: backendkit's stores against djangorestframework-api-key and simplejwt's blacklist.

Four sections, each its contenders in rounds, one sample each per round in an order that turns by one each
round; a sample repeats the call for about --sample seconds; the median round is reported (the best
beside), and a ratio is the median over rounds of peer / backendkit in the same round (> 1: backendkit is
faster). Every store a helper branch has not landed yet is reported as not run.

- ``cached``: ``APIKeyVerifier.verify(key)`` on a key checked before (the cache's steady state: no store),
  one key and 1,000 keys in turn; refusals beside (a bad checksum, an unknown id, a wrong secret: the
  last two must cost the same); the steps of a full check, for scale. Target: under 5 us.
- ``miss``: the same check with ``cache_ttl=0`` (the store asked every time) on each store: memory,
  ``RedisKeyStore`` (a redis-server of the run's own), ``SQLKeyStore`` on SQLite and PostgreSQL,
  ``DjangoKeyStore`` on Django's SQLite and PostgreSQL databases; next to djangorestframework-api-key on
  the same Django databases (``APIKey.objects.is_valid(key)``, and ``HasAPIKey().has_permission`` with
  its ``KeyParser``, against ``BearerAuth(verifier).authenticate``). Then what each sends per check, counted
  under the ORMs (``benchmarks/_harness/sql.py``: libpq's protocol trace, SQLite's statement trace; Redis:
  the connection's sends and INFO commandstats). Targets: at most one store round trip per miss; ahead
  of djangorestframework-api-key on the same database.
- ``http``: a whole Django request through a DRF ``APIView`` (WSGI, in process), with backendkit's
  ``JWTAuthentication`` over ``BearerAuth(APIKeyVerifier(DjangoKeyStore()))`` (the key in ``X-API-Key``;
  its cache on, and with ``cache_ttl=0``) against ``HasAPIKey`` (``Authorization: Api-Key <key>``), each
  as what it adds to the same view without authentication; an
  A/A control (the bare view twice) gives the noise. Target: adds less than ``HasAPIKey``.
- ``refresh``: a refresh-token rotation, ``TokenIssuer(..., refresh_store=...).refresh(token)``, on
  memory, Redis, SQL (SQLite, PostgreSQL) and Django (SQLite, PostgreSQL), against simplejwt's
  ``TokenRefreshSerializer`` (what ``TokenRefreshView`` runs) with ``ROTATE_REFRESH_TOKENS`` and
  ``BLACKLIST_AFTER_ROTATION`` on the same Django databases; each a chain (the token a rotation returns is
  the next one presented) over 64 sessions in turn; then what each rotation sends. Targets: one store
  round trip per rotation on Redis; ahead of simplejwt on the same database.

Django's two databases are one process's: a SQLite file and a schema of the run's own on the local
PostgreSQL (``--postgres-url``; ``--skip-postgres``), each migrated; a Django contender points
``connections["default"]`` at its database before each sample. Every connection stays open
(``CONN_MAX_AGE=None``), as a service runs. Logging below ERROR is off.

    python benchmarks/credentials_bench.py [--rounds 31] [--sample 0.05] [--keys 1000] [--quick]
        [--only cached,miss,http,refresh] [--postgres-url URL | --skip-postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import logging
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from backendkit.apikeys import APIKeys, MemoryKeyStore
from backendkit.apikeys._core.cache import RecordCache
from backendkit.auth import BearerAuth, HMACKey, InvalidToken, MemoryRefreshStore, TokenIssuer
from backendkit.auth._core.opaque import digest
from benchmarks._harness.http import WSGIDriver, wsgi_environ
from benchmarks._harness.measure import Samples, differences, measure_us, ratio, repeated
from benchmarks._harness.redis import commands_run, counting, describe
from benchmarks._harness.run import Run, Summary, add_only, parse
from benchmarks._harness.run import only as chosen
from benchmarks._harness.sql import Sent, Wire

PACKAGES = (
    "backendkit",
    "django",
    "djangorestframework",
    "djangorestframework-api-key",
    "djangorestframework-simplejwt",
    "pyjwt",
    "redis",
    "hiredis",
    "sqlalchemy",
    "psycopg",
)
SECTIONS = ("cached", "miss", "http", "refresh")
SECRET = "bench-hs256-secret-of-forty-two-bytes-long"
PREFIX = "bk_live_"
OWNER_ROLES = ["deployer"]
OWNER_SCOPES = ["tasks:read", "tasks:write"]
SESSIONS = 64  # refresh-token families (simplejwt: users) rotated in turn
COUNTED = 200  # operations per round-trip count


def optional(module: str, name: str) -> Any:
    """``module.name``, or ``None`` while the branch that writes it has not landed."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


# --- the databases: Redis, SQLite files, a PostgreSQL schema, Django on both ------------------------------
@dataclass
class Django:
    """One of Django's databases: ``use()`` points ``connections["default"]`` at it."""

    label: str  # "SQLite", "PostgreSQL"
    alias: str

    def use(self) -> None:
        from django.db import connections

        connections["default"] = connections[self.alias]


@dataclass
class Env:
    """What the run set up, and what it tears down."""

    tmp: str
    wire: Wire
    redis_port: int | None = None
    redis_server: Any = None
    postgres_url: str | None = None  # libpq URL
    schema: str | None = None
    djangos: list[Django] = field(default_factory=list)
    closing: list[Callable[[], Any]] = field(default_factory=list)

    def sqlalchemy_urls(self) -> dict[str, str]:
        """label → a SQLAlchemy URL: a SQLite file of its own, the schema on PostgreSQL."""
        urls = {"SQLite": f"sqlite:///{os.path.join(self.tmp, 'sqlalchemy.sqlite3')}"}
        if self.postgres_url is not None:
            base = self.postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
            urls["PostgreSQL"] = f"{base}?options=-csearch_path%3D{self.schema}"
        return urls


def django_settings(env: Env) -> None:
    import django
    from django.conf import settings

    databases: dict[str, Any] = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(env.tmp, "django.sqlite3")},
    }
    databases["sqlite"] = dict(databases["default"])
    if env.postgres_url is not None:
        parts = urlsplit(env.postgres_url)
        databases["postgresql"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": parts.username or "",
            "PASSWORD": parts.password or "",
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or 5432),
            "OPTIONS": {"options": f"-csearch_path={env.schema}"},
        }
    for entry in databases.values():
        entry["CONN_MAX_AGE"] = None
    apps = [
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "rest_framework_api_key",
        "rest_framework_simplejwt.token_blacklist",
        "backendkit.django",
    ]
    if importlib.util.find_spec("backendkit.django.credentials") is not None:
        apps.append("backendkit.django.credentials")
    from datetime import timedelta

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["localhost"],
        ROOT_URLCONF="benchmarks._django_urls_plain",  # unused: each site sets its own
        INSTALLED_APPS=apps,
        MIDDLEWARE=["backendkit.django.ErrorMiddleware"],
        DATABASES=databases,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        REST_FRAMEWORK={
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
        },
        SIMPLE_JWT={
            "ACCESS_TOKEN_LIFETIME": timedelta(seconds=900),  # backendkit's access lifetime below
            "ROTATE_REFRESH_TOKENS": True,
            "BLACKLIST_AFTER_ROTATION": True,
            "UPDATE_LAST_LOGIN": False,
            "ALGORITHM": "HS256",
            "SIGNING_KEY": SECRET,
        },
        BACKENDKIT={},
    )
    django.setup()
    env.wire.django()
    from django.core.management import call_command

    env.djangos.append(Django("SQLite", "sqlite"))
    if env.postgres_url is not None:
        env.djangos.append(Django("PostgreSQL", "postgresql"))
    for db in env.djangos:
        db.use()
        call_command("migrate", verbosity=0, interactive=False)
    env.djangos[0].use()


@contextlib.contextmanager
def environment(args: argparse.Namespace, run: Run) -> Iterator[Env]:
    env = Env(tempfile.mkdtemp(prefix="credentials-bench-"), Wire())
    env.wire.sqlalchemy()
    notes: list[str] = []
    try:
        from benchmarks._harness.redis import find_redis_server, start_redis

        binary = find_redis_server()
        if binary is None:
            notes.append("redis-server not found: the Redis stores are left out")
        else:
            import redis

            env.redis_server = start_redis(binary)
            env.redis_port = env.redis_server.port
            with redis.Redis(port=env.redis_port) as admin:
                notes.append(describe(admin, f"127.0.0.1:{env.redis_port}"))
                run.versions["redis-server"] = admin.info("server")["redis_version"]
        if not args.skip_postgres:
            import psycopg

            env.postgres_url, env.schema = args.postgres_url, f"credentials_bench_{os.getpid()}"
            with psycopg.connect(env.postgres_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"CREATE SCHEMA {env.schema}")
                row = conn.execute("SHOW server_version").fetchone()
                run.versions["postgresql"] = str(row[0]) if row else "?"
            notes.append(f"PostgreSQL {run.versions['postgresql']} at {args.postgres_url}, schema {env.schema}")
        else:
            notes.append("--skip-postgres: the PostgreSQL contenders are left out")
        run.versions["sqlite"] = sqlite3.sqlite_version
        notes.append(f"SQLite {sqlite3.sqlite_version}, files in {env.tmp}")
        django_settings(env)
        run.header(*notes)
        yield env
    finally:
        for close in reversed(env.closing):
            with contextlib.suppress(Exception):
                close()
        if "django" in sys.modules and env.djangos:
            from django.db import connections

            for db in env.djangos:
                with contextlib.suppress(Exception):
                    connections[db.alias].close()
        if env.schema is not None:
            import psycopg

            with psycopg.connect(env.postgres_url or "", autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {env.schema} CASCADE")
        if env.redis_server is not None:
            env.redis_server.stop()
        shutil.rmtree(env.tmp, ignore_errors=True)


# --- the stores, as each branch lands ---------------------------------------------------------------------
def redis_client(env: Env, counter: type[Any]) -> Any:
    import redis

    pool = redis.ConnectionPool(
        port=env.redis_port, connection_class=counter, socket_timeout=0.25, socket_connect_timeout=0.25
    )
    return redis.Redis(connection_pool=pool)


def made(cls: Any, client: Any, url: str) -> Any:
    """A Redis store on ``client`` (whose connections count their sends), or from the URL if it takes no client."""
    try:
        return cls(client)
    except TypeError:
        return cls.from_url(url)


def key_stores(env: Env, counter: type[Any]) -> dict[str, Any]:
    """label → a key store of each kind that exists (the Django ones: per Django database)."""
    stores: dict[str, Any] = {"MemoryKeyStore": MemoryKeyStore()}
    redis_store = optional("backendkit.apikeys.redis", "RedisKeyStore")
    if redis_store is not None and env.redis_port is not None:
        stores["RedisKeyStore"] = made(redis_store, redis_client(env, counter), f"redis://127.0.0.1:{env.redis_port}/0")
    sql_store = optional("backendkit.apikeys.sqlalchemy", "SQLKeyStore")
    if sql_store is not None:
        for label, url in env.sqlalchemy_urls().items():
            stores[f"SQLKeyStore ({label})"] = sql_store.from_url(url, create=True)
    django_store = optional("backendkit.django.credentials", "DjangoKeyStore")
    if django_store is not None:
        for db in env.djangos:
            stores[f"DjangoKeyStore ({db.label})"] = django_store()
    for store in stores.values():
        if hasattr(store, "close"):
            env.closing.append(store.close)
    return stores


def missing(what: str, module: str, name: str, env: Env) -> list[str]:
    """The labels of stores not run, and why (for the tables)."""
    if optional(module, name) is None:
        return [f"{name}: not landed yet ({module})"]
    if what == "redis" and env.redis_port is None:
        return [f"{name}: no redis-server"]
    return []


def django_of(label: str, env: Env) -> Django | None:
    """The Django database a contender's label names, if it is a Django contender."""
    if "Django" not in label and "djangorestframework" not in label and "simplejwt" not in label:
        return None
    return next((db for db in env.djangos if f"({db.label})" in label), None)


def on(db: Django | None, run: Callable[[int], None]) -> Callable[[int], None]:
    """A runner that points Django at ``db`` first (once per sample)."""
    if db is None:
        return run

    def run_there(n: int) -> None:
        db.use()
        run(n)

    return run_there


def measure(runners: Mapping[str, Callable[[int], None]], args: argparse.Namespace, factor: float = 1.0) -> Samples:
    return measure_us(runners, args.rounds, args.sample * factor, least=5, warmup=20)


def table(samples: Samples, title: str, base: str | None = None, width: int = 66) -> None:
    print(title)
    head = f"{'median':>9}{'best':>9}" + (f"{'/ ' + base.split(',')[0][:12]:>16}" if base else "")
    print(f"  {'':<{width}}{head}")
    for name, values in samples.items():
        line = f"  {name:<{width}}{statistics.median(values):>9.2f}{min(values):>9.2f}"
        if base is not None:
            line += f"{ratio(samples, name, base):>15.2f}x"
        print(line)


def cycled(items: list[Any]) -> Callable[[], Any]:
    return itertools.cycle(items).__next__


def make_keys(store: Any, count: int) -> tuple[APIKeys, list[str]]:
    keys = APIKeys(store, prefix=PREFIX)
    return keys, [keys.create(f"svc-{i}", roles=OWNER_ROLES, scopes=OWNER_SCOPES).key for i in range(count)]


# --- cached ---------------------------------------------------------------------------------------------
CACHED = "APIKeyVerifier.verify, a key checked before (MemoryKeyStore)"
CACHED_AA = "the same, a second verifier (A/A control)"
CACHED_TARGET = "cached key check < 5 us"


def cached_section(args: argparse.Namespace, summary: Summary) -> None:
    store = MemoryKeyStore()
    keys, made_keys = make_keys(store, args.keys)
    one, other = keys.verifier(), keys.verifier()
    many = keys.verifier()
    key = made_keys[0]
    for verifier in (one, other):
        assert verifier.verify(key).subject == "svc-0"
    for k in made_keys:
        many.verify(k)
    next_key = cycled(made_keys)
    parsed = one.parse(key)
    wrong_secret = keys.format.compose(parsed.id, b"\x07" * 32)  # the right id, another secret, a valid checksum
    unknown = keys.format.compose("0" * 12, b"\x07" * 32)
    bad_checksum = key[:-1] + ("a" if key[-1] != "a" else "b")

    def refused(value: str) -> Callable[[], None]:
        def check() -> None:
            try:
                one.verify(value)
            except InvalidToken:
                return
            raise AssertionError("accepted")

        return check

    for value in (wrong_secret, unknown, bad_checksum):
        refused(value)()
    runners: dict[str, Callable[[int], None]] = {
        CACHED: repeated(lambda: one.verify(key)),
        CACHED_AA: repeated(lambda: other.verify(key)),
        f"the same, {args.keys:,} keys in turn (all cached)": repeated(lambda: many.verify(next_key())),
        "refused: bad checksum (no store, no cache)": repeated(refused(bad_checksum)),
        "refused: unknown id (its absence cached)": repeated(refused(unknown)),
        "refused: right id, wrong secret (its record cached)": repeated(refused(wrong_secret)),
        "step: parse (format, check digits)": repeated(lambda: one.parse(key)),
        "step: digest (SHA-256 of the key)": repeated(lambda: digest(parsed.body)),
        "step: cache.get": repeated(lambda: one.cache.get(parsed.id, 1.0e9)),
    }
    samples = measure(runners, args)
    table(samples, f"API key check from the cache; us per check, median of {args.rounds} rounds")
    med, best = statistics.median(samples[CACHED]), min(samples[CACHED])
    aa = statistics.median(differences(samples, CACHED_AA, CACHED))
    unknown_vs_wrong = statistics.median(
        differences(
            samples, "refused: unknown id (its absence cached)", "refused: right id, wrong secret (its record cached)"
        )
    )
    print(f"  A/A: {aa:+.2f} us; unknown id - wrong secret: {unknown_vs_wrong:+.2f} us (no oracle: about 0)")
    print(f"  target: a cached check under 5 us: {med:.2f} us (best {best:.2f})  {'PASS' if med < 5 else 'MISS'}")
    print()
    summary.target(CACHED_TARGET, best, med, med < 5.0, fmt="{:.2f} us")
    summary.note("cached check, A/A control", f"{aa:+.2f} us")
    summary.note("refused: unknown id - wrong secret", f"{unknown_vs_wrong:+.2f} us")


# --- miss -------------------------------------------------------------------------------------------------
def peer_keys(count: int) -> list[str]:
    from rest_framework_api_key.models import APIKey

    return [APIKey.objects.create_key(name=f"svc-{i}")[1] for i in range(count)]


class Meta:
    """What ``HasAPIKey`` reads of a request: its ``META``."""

    def __init__(self, key: str) -> None:
        self.META = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}


@dataclass
class Contenders:
    """A section's contenders: timed (runners), counted (one operation each), ours and the peers by database."""

    runners: dict[str, Callable[[int], None]] = field(default_factory=dict)
    counted: dict[str, Callable[[], Any]] = field(default_factory=dict)
    ours: dict[str, str] = field(default_factory=dict)
    peers: dict[str, str] = field(default_factory=dict)


def miss_section(args: argparse.Namespace, env: Env, summary: Summary) -> None:
    sent_class = counting(__import__("redis").Connection) if env.redis_port is not None else object
    stores = key_stores(env, sent_class)  # (connected: the block below traces the connections open when it starts)
    with env.wire.count():  # the set-up traced too: a statement psycopg prepares meanwhile is known by its SQL
        made = miss_contenders(args, env, stores)
    runners, counted, our, peer = made.runners, made.counted, made.ours, made.peers
    trips(env, counted, sent_class, summary, "check", "miss")  # first: psycopg prepares in view of the trace
    runners |= floor_runners(env)
    samples = measure(runners, args)
    notes = missing("redis", "backendkit.apikeys.redis", "RedisKeyStore", env)
    notes += missing("sql", "backendkit.apikeys.sqlalchemy", "SQLKeyStore", env)
    notes += missing("django", "backendkit.django.credentials", "DjangoKeyStore", env)
    table(
        samples,
        f"API key check, cache_ttl=0 (the store asked every time); us per check, median of {args.rounds} rounds",
    )
    for note in notes:
        print(f"  not run: {note}")
    for label in [db.label for db in env.djangos]:
        if label in peer and label in our:
            value = ratio(samples, peer[label], our[label])
            summary.judge(
                f"miss, {label}: djangorestframework-api-key / DjangoKeyStore > 1", f"{value:.2f}x", value > 1
            )
        elif label in peer:
            summary.judge(f"miss, {label}: djangorestframework-api-key / DjangoKeyStore > 1", "n/a", None)
        for name in runners:
            if name.startswith("backendkit verify, SQLKeyStore") and f"({label})" in name and label in peer:
                summary.note(
                    f"miss, {label}: djangorestframework-api-key / SQLKeyStore",
                    f"{ratio(samples, peer[label], name):.2f}x",
                )
    for name in runners:
        if name.startswith("backendkit verify, ") and not name.endswith(")"):
            summary.note(
                f"miss: {name.removeprefix('backendkit verify, ')}, us", f"{statistics.median(samples[name]):.1f}"
            )
    print()


def miss_contenders(args: argparse.Namespace, env: Env, stores: Mapping[str, Any]) -> Contenders:
    """backendkit's verify on each store (cache_ttl=0), and djangorestframework-api-key on each Django database."""
    from rest_framework_api_key.models import APIKey
    from rest_framework_api_key.permissions import HasAPIKey

    made = Contenders()
    for label, store in stores.items():
        db = django_of(label, env)
        if db is not None:
            db.use()
        keys, made_keys = make_keys(store, args.keys)
        verifier = keys.verifier(cache_ttl=0)
        used = made_keys[: max(1, args.keys // 10)]
        next_key = cycled(used)
        assert verifier.verify(made_keys[0]).subject == "svc-0", label
        for key in used:  # each key's last_used_at written now: then once a minute, as in a service
            verifier.verify(key)
        name = f"backendkit verify, {label}"
        made.runners[name] = on(db, repeated(lambda v=verifier, k=next_key: v.verify(k())))
        made.counted[name] = lambda v=verifier, k=next_key: v.verify(k())
        if db is not None:
            made.ours[db.label] = name
            bearer = BearerAuth(verifier)
            lines = [[f"Bearer {k}"] for k in made_keys[: max(1, args.keys // 10)]]
            next_lines = cycled(lines)
            assert bearer.authenticate(lines[0]).subject == "svc-0"
            made.runners[f"backendkit BearerAuth.authenticate, {label}"] = on(
                db, repeated(lambda b=bearer, n=next_lines: b.authenticate(n()))
            )
    for db in env.djangos:
        db.use()
        made_keys = peer_keys(args.keys)
        next_key = cycled(made_keys[: max(1, args.keys // 10)])
        assert APIKey.objects.is_valid(made_keys[0])
        name = f"djangorestframework-api-key is_valid ({db.label})"
        made.runners[name] = on(db, repeated(lambda k=next_key: APIKey.objects.is_valid(k())))
        made.counted[name] = lambda k=next_key: APIKey.objects.is_valid(k())
        made.peers[db.label] = name
        permission = HasAPIKey()
        requests = [Meta(k) for k in made_keys[: max(1, args.keys // 10)]]
        next_request = cycled(requests)
        assert permission.has_permission(requests[0], None)
        made.runners[f"djangorestframework-api-key HasAPIKey.has_permission ({db.label})"] = on(
            db, repeated(lambda p=permission, r=next_request: p.has_permission(r(), None))
        )
    return made


def floor_runners(env: Env) -> dict[str, Callable[[int], None]]:
    """One bare round trip to each server, for scale."""
    runners: dict[str, Callable[[int], None]] = {}
    if env.redis_port is not None:
        import redis

        client = redis.Redis(port=env.redis_port)
        env.closing.append(client.close)
        runners["for scale: redis-py PING (one round trip)"] = repeated(client.ping)
    if env.postgres_url is not None:
        import psycopg

        conn = psycopg.connect(env.postgres_url, autocommit=True)
        env.closing.append(conn.close)
        runners["for scale: psycopg SELECT 1, autocommit (one round trip)"] = repeated(
            lambda: conn.execute("SELECT 1").fetchone()
        )
    return runners


def trips(
    env: Env,
    counted: Mapping[str, Callable[[], Any]],
    sent_class: Any,
    summary: Summary,
    what: str,
    section: str,
) -> None:
    """What each contender sends per operation: Redis commands and round trips, SQL statements and round trips."""
    import redis

    admin = redis.Redis(port=env.redis_port) if env.redis_port is not None else None
    print(f"what each {what} sends, over {COUNTED} {what}s (SQL: under the ORM, as the driver sends it)")
    for name, call in counted.items():
        db = django_of(name, env)
        if db is not None:
            db.use()
        with env.wire.count():  # connected, scripts loaded, statements prepared (their SQL seen)
            for _ in range(10):
                call()
        before = getattr(sent_class, "sent", 0)
        with contextlib.ExitStack() as stack:
            ran = stack.enter_context(commands_run(admin)) if admin is not None and "Redis" in name else None
            sql: Sent = stack.enter_context(env.wire.count())
            for _ in range(COUNTED):
                call()
        sends = (getattr(sent_class, "sent", 0) - before) / COUNTED
        judged: float | None = None  # round trips per operation, where there are round trips to count
        if ran is not None:
            shown = ", ".join(f"{c} {n / COUNTED:g}" for c, n in sorted(ran.items()))
            figure, judged = f"{sends:.2f} round trips ({shown})", sends
        elif "PostgreSQL" in name:
            judged = sql.round_trips / COUNTED
            figure = f"{judged:.2f} round trips: {sql.shown(COUNTED)}"
        elif sql.total():
            figure = f"{sql.total() / COUNTED:.2f} statements, in process: {sql.shown(COUNTED)}"
        else:
            figure = "0 round trips (in process)"
        print(f"  {name:<66}{figure}")
        store = name.split(", ", 1)[-1]
        if name.startswith("backendkit") and judged is not None and (section == "miss" or "Redis" in name):
            wanted = "<= 1" if section == "miss" else "= 1"
            ok = judged <= 1.0 if section == "miss" else abs(judged - 1.0) < 1e-9
            summary.judge(f"{section}: store round trips per {what}, {store} {wanted}", figure, ok)
        else:
            summary.note(f"{section}: per {what}, {name}", figure)
    if admin is not None:
        admin.close()
    print()


# --- http -----------------------------------------------------------------------------------------------
PLAIN = "DRF APIView, no authentication"
PLAIN_AA = "the same view again (A/A control)"
HTTP_BK = "backendkit JWTAuthentication + BearerAuth(APIKeyVerifier), cached"
HTTP_BK_MISS = "backendkit, the same with cache_ttl=0"
HTTP_PEER = "djangorestframework-api-key HasAPIKey"


class Site:
    """A Django WSGI handler whose requests all go to one view (its own URLconf)."""

    def __init__(self, view: Any) -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.urls import path

        class Handler(WSGIHandler):
            def get_response(self, request: Any) -> Any:
                request.urlconf = urlconf
                return super().get_response(request)

        urlconf = types.ModuleType(f"credentials_bench_urls_{id(self)}")
        urlconf.urlpatterns = [path("items/1", view)]  # type: ignore[attr-defined]
        self.handler = Handler()


def drf_views() -> dict[str, Any]:
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_api_key.permissions import HasAPIKey

    from backendkit.django.drf import JWTAuthentication, Require

    class Plain(APIView):  # type: ignore[misc]
        authentication_classes: tuple[Any, ...] = ()
        permission_classes: tuple[Any, ...] = (AllowAny,)

        def get(self, request: Any) -> Any:
            return Response({"id": 1})

    class Ours(Plain):
        authentication_classes = (JWTAuthentication,)
        permission_classes = (Require(),)

    class Peer(Plain):
        permission_classes = (HasAPIKey,)

    return {"plain": Plain.as_view(), "ours": Ours.as_view(), "peer": Peer.as_view()}


def without_cache(verifier: Any, db: Django, run: Callable[[int], None]) -> Callable[[int], None]:
    """``run`` with the verifier's cache swapped, for the sample, for the one ``cache_ttl=0`` builds."""
    cached, uncached = verifier.cache, RecordCache[Any](0.0, verifier.cache.size)

    def run_uncached(n: int) -> None:
        db.use()
        verifier.cache = uncached
        try:
            run(n)
        finally:
            verifier.cache = cached

    return run_uncached


def http_section(args: argparse.Namespace, env: Env, summary: Summary) -> None:
    from django.test.utils import override_settings

    django_store = optional("backendkit.django.credentials", "DjangoKeyStore")
    views = drf_views()
    for db in env.djangos:
        db.use()
        store = django_store() if django_store is not None else MemoryKeyStore()
        keys, made_keys = make_keys(store, 1)
        verifier = keys.verifier()
        settings = override_settings(BACKENDKIT={"AUTH": BearerAuth(verifier)})
        settings.enable()
        try:
            peer_key = peer_keys(1)[0]
            environ = wsgi_environ("GET", "/items/1", REMOTE_ADDR="127.0.0.1", HTTP_HOST="localhost")
            ours = {**environ, "HTTP_X_API_KEY": made_keys[0]}
            theirs = {**environ, "HTTP_AUTHORIZATION": f"Api-Key {peer_key}"}
            drivers = {
                PLAIN: WSGIDriver(Site(views["plain"]).handler, environ),
                PLAIN_AA: WSGIDriver(Site(views["plain"]).handler, environ),
                HTTP_BK: WSGIDriver(Site(views["ours"]).handler, ours),
                HTTP_PEER: WSGIDriver(Site(views["peer"]).handler, theirs),
            }
            for name, driver in drivers.items():
                answer = driver.request()
                assert answer.status == 200, (name, answer)
            for name in (HTTP_BK, HTTP_PEER):  # and without a key: refused
                bare = WSGIDriver(drivers[name].app, environ).request()
                assert bare.status in (401, 403), (name, bare)
            runners: dict[str, Callable[[int], None]] = {name: on(db, d.run) for name, d in drivers.items()}
            if django_store is not None:
                runners[HTTP_BK_MISS] = without_cache(verifier, db, drivers[HTTP_BK].run)
            samples = measure(runners, args)
        finally:
            settings.disable()
        store_name = type(store).__name__
        print(
            f"Django {db.label}: GET /items/1 through a DRF APIView (WSGI, in process), {store_name} behind backendkit;"
            f" us per request, median of {args.rounds} rounds"
        )
        print(f"  {'':<66}{'median':>9}{'best':>9}{'added':>9}")
        for name, values in samples.items():
            add = statistics.median(differences(samples, name, PLAIN)) if name != PLAIN else 0.0
            print(f"  {name:<66}{statistics.median(values):>9.2f}{min(values):>9.2f}{add:>+9.2f}")
        added = {name: statistics.median(differences(samples, name, PLAIN)) for name in samples}
        aa = added[PLAIN_AA]
        theirs = added[HTTP_PEER]
        for name in (HTTP_BK, HTTP_BK_MISS):
            if name not in added:
                summary.judge(f"http, {db.label}: {name} added < HasAPIKey's", "n/a (DjangoKeyStore not landed)", None)
                continue
            mine = added[name]
            shown = f"{mine:+.1f} vs {theirs:+.1f} us" + (f" ({theirs / mine:.2f}x)" if mine > 0 and theirs > 0 else "")
            summary.judge(f"http, {db.label}: {name} added < HasAPIKey's", shown, mine < theirs)
        summary.note(f"http, {db.label}: A/A control added", f"{aa:+.2f} us")
        print(f"  noise (A/A control): {aa:+.2f} us")
        print()


# --- refresh --------------------------------------------------------------------------------------------
REFRESH_STORES = (
    ("redis", "RedisRefreshStore", ("backendkit.auth.redis", "backendkit.auth._stores.redis_refresh")),
    ("sql", "SQLRefreshStore", ("backendkit.auth.sqlalchemy", "backendkit.auth._stores.sql")),
    ("django", "DjangoRefreshStore", ("backendkit.django.credentials",)),
)


def refresh_store_class(name: str, modules: tuple[str, ...]) -> Any:
    return next((cls for module in modules if (cls := optional(module, name)) is not None), None)


def refresh_stores(env: Env, counter: type[Any]) -> tuple[dict[str, Any], list[str]]:
    stores: dict[str, Any] = {"MemoryRefreshStore": MemoryRefreshStore()}
    notes: list[str] = []
    for kind, name, modules in REFRESH_STORES:
        cls = refresh_store_class(name, modules)
        if cls is None:
            notes.append(f"{name}: not landed yet")
            continue
        if kind == "redis":
            if env.redis_port is None:
                notes.append(f"{name}: no redis-server")
                continue
            stores[name] = made(cls, redis_client(env, counter), f"redis://127.0.0.1:{env.redis_port}/0")
        elif kind == "sql":
            for label, url in env.sqlalchemy_urls().items():
                stores[f"{name} ({label})"] = cls.from_url(url, create=True)
        else:
            for db in env.djangos:
                stores[f"{name} ({db.label})"] = cls()
    for store in stores.values():
        if hasattr(store, "close"):
            env.closing.append(store.close)
    return stores, notes


class Chain:
    """Sessions rotated in turn: each rotation presents the token the last one returned for that session."""

    def __init__(self, tokens: list[str], rotate: Callable[[str], str]) -> None:
        self.tokens, self.rotate, self.turn = tokens, rotate, 0

    def __call__(self) -> None:
        turn = self.turn = (self.turn + 1) % len(self.tokens)
        self.tokens[turn] = self.rotate(self.tokens[turn])


def simplejwt_chain(sessions: int) -> Chain:
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.serializers import TokenRefreshSerializer
    from rest_framework_simplejwt.tokens import RefreshToken

    user_model = get_user_model()
    start = user_model.objects.count()
    users = [user_model.objects.create(username=f"user-{start + i}") for i in range(sessions)]
    tokens = [str(RefreshToken.for_user(user)) for user in users]

    def rotate(token: str) -> str:
        serializer = TokenRefreshSerializer(data={"refresh": token})
        serializer.is_valid(raise_exception=True)
        return str(serializer.validated_data["refresh"])

    return Chain(tokens, rotate)


def refresh_contenders(env: Env, stores: Mapping[str, Any]) -> Contenders:
    """A chain of rotations on each store, and simplejwt's on each Django database; ours keyed "Django SQLite"..."""
    made = Contenders()
    for label, store in stores.items():
        db = django_of(label, env)
        if db is not None:
            db.use()
        issuer = TokenIssuer(
            HMACKey(SECRET), issuer="https://auth.example.test/", audience="api", lifetime=900, refresh_store=store
        )
        tokens = [issuer.issue_pair(f"user-{i}", claims={"roles": ["editor"]}).refresh_token for i in range(SESSIONS)]
        chain = Chain(tokens, lambda token, i=issuer: i.refresh(token).refresh_token)
        chain()
        name = f"backendkit TokenIssuer.refresh, {label}"
        made.runners[name] = on(db, repeated(chain))
        made.counted[name] = chain
        if db is not None:
            made.ours[f"{'Django' if 'Django' in label else 'SQL'} {db.label}"] = name
        elif label.startswith("SQLRefreshStore"):
            made.ours[f"SQL {label.split('(')[1].rstrip(')')}"] = name
    for db in env.djangos:
        db.use()
        chain = simplejwt_chain(SESSIONS)
        chain()
        name = f"simplejwt TokenRefreshSerializer + blacklist ({db.label})"
        made.runners[name] = on(db, repeated(chain))
        made.counted[name] = chain
        made.peers[db.label] = name
    return made


def refresh_section(args: argparse.Namespace, env: Env, summary: Summary) -> None:
    sent_class = counting(__import__("redis").Connection) if env.redis_port is not None else object
    stores, notes = refresh_stores(env, sent_class)  # (connected before the traced block below)
    with env.wire.count():  # the set-up traced too: a statement psycopg prepares meanwhile is known by its SQL
        made = refresh_contenders(env, stores)
    runners, counted, ours, peers = made.runners, made.counted, made.ours, made.peers
    trips(env, counted, sent_class, summary, "rotation", "refresh")  # first: psycopg prepares in view of the trace
    samples = measure(runners, args)
    table(
        samples, f"refresh-token rotation, {SESSIONS} sessions in turn; us per rotation, median of {args.rounds} rounds"
    )
    for note in notes:
        print(f"  not run: {note}")
    for db_label, peer in peers.items():
        for kind in ("Django", "SQL"):
            mine = ours.get(f"{kind} {db_label}")
            label = f"refresh, {db_label}: simplejwt / {kind}RefreshStore > 1"
            if mine is None:
                summary.judge(label, "n/a", None)
                continue
            value = ratio(samples, peer, mine)
            summary.judge(label, f"{value:.2f}x", value > 1)
    for name in runners:
        if name.startswith("backendkit") and ("Redis" in name or "Memory" in name):
            summary.note(
                f"refresh: {name.removeprefix('backendkit TokenIssuer.refresh, ')}, us",
                f"{statistics.median(samples[name]):.1f}",
            )
    print()


# --- main -----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--sample", type=float, default=0.05, help="seconds each sample lasts (about)")
    parser.add_argument("--keys", type=int, default=1000, help="keys made in each store (a tenth used in the misses)")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    add_only(parser, SECTIONS)
    args = parse(parser, quick={"rounds": 3, "sample": 0.01, "keys": 50})
    only = chosen(parser, args, SECTIONS)

    run = Run(PACKAGES)
    logging.disable(logging.WARNING)
    summary = Summary(unknown="NOT RUN")
    with environment(args, run) as env:
        if "cached" in only:
            cached_section(args, summary)
        if "miss" in only:
            miss_section(args, env, summary)
        if "http" in only:
            http_section(args, env, summary)
        if "refresh" in only:
            refresh_section(args, env, summary)
    summary.print("summary (ratios: peer / backendkit, the median of per-round ratios; > 1: backendkit is faster)")
    run.footer()


if __name__ == "__main__":
    main()
