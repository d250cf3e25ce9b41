"""Refresh-token rotation: microseconds per rotation (client side) and round trips, on each store.

Two figures per store, each the median of ``--rounds`` samples of ``--n`` rotations in a chain (each
rotation presents the token the one before made, so every call is a real rotation):

- store: ``store.rotate(...)`` alone, with the new token's digest, seal and access entry made beforehand:
  what the store costs (the round trips, the script or the transaction);
- issuer: ``TokenIssuer.refresh(token)``, all of it: the token parsed and digested, the successor made
  and sealed, the store asked, the access token signed (HS256).

Round trips per rotation: Redis, what the client sent (a counting connection) and what Redis ran
(``INFO commandstats``: the commands the script calls count there too); SQL, the statements SQLAlchemy
executed, and on PostgreSQL the messages psycopg sent (libpq's trace: ``BEGIN`` and ``COMMIT`` are
round trips of their own).

The stores: memory (the reference), Redis (a redis-server of the run's own, no persistence), SQLite (a
file in a temporary directory) and PostgreSQL (``BACKENDKIT_POSTGRES_URL`` or the local server, a
schema of the run's own, dropped at the end). A building block for ``benchmarks/credentials_bench.py``.

    python benchmarks/_refresh_figures.py [--n 500] [--rounds 7] [--only memory,redis,sqlite,postgres]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from backendkit.auth import HMACKey, MemoryRefreshStore, RefreshPolicy, TokenIssuer  # noqa: E402
from backendkit.auth._core.refresh import Family, Rotation  # noqa: E402

KEY = HMACKey("benchmark-only-refresh-secret-32-bytes!")
POLICY = RefreshPolicy()


def store_chain(store: Any) -> Callable[[int], float]:
    """``n`` rotations of one family through ``store.rotate`` alone (the inputs made outside the timing)."""
    now = time.time()
    family = Family(uuid.uuid4().hex[:22], "bench", current="d0", created_at=now, last_used_at=now)
    store.create(family, POLICY)
    state = {"current": "d0", "count": 0}

    def run(n: int) -> float:
        count = state["count"]
        rotations = [
            Rotation(f"d{count + i + 1}-{secrets.token_hex(8)}", "00" * 40, (f"j{count + i}", int(now), int(now) + 900))
            for i in range(n)
        ]
        presented = str(state["current"])
        start = time.perf_counter()
        for rotation in rotations:
            outcome = store.rotate(family.id, presented, rotation, now, POLICY)
            assert outcome.kind == "rotated", outcome.kind
            presented = rotation.digest
        elapsed = time.perf_counter() - start
        state["current"], state["count"] = presented, count + n
        return elapsed

    return run


def issuer_chain(store: Any) -> Callable[[int], float]:
    """``n`` rotations through ``TokenIssuer.refresh``: everything a token endpoint does but HTTP."""
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    token = [issuer.issue_pair("bench", claims={"roles": ["viewer"]}).refresh_token]

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            token[0] = issuer.refresh(token[0]).refresh_token
        return time.perf_counter() - start

    return run


def repeated(call: Callable[[], object]) -> Callable[[int], float]:
    """A runner of ``call``: the seconds ``n`` calls take."""

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            call()
        return time.perf_counter() - start

    return run


def median_us(run: Callable[[int], float], n: int, rounds: int) -> tuple[float, float]:
    run(min(n, 50))  # warm-up: connections, scripts loaded, statements cached
    samples = []
    for _ in range(rounds):
        samples.append(run(n) / n * 1e6)
    return statistics.median(samples), min(samples)


@contextmanager
def redis_store() -> Iterator[tuple[Any, Callable[[], str]]]:
    import redis

    from backendkit.auth.redis import RedisRefreshStore
    from benchmarks._harness.redis import commands_run, counting, describe, find_redis_server, start_redis

    binary = find_redis_server()
    if binary is None:
        raise SystemExit("redis-server is not on PATH")
    server = start_redis(binary)
    admin = redis.Redis(host=server.host, port=server.port)
    pool = redis.ConnectionPool(
        host=server.host, port=server.port, connection_class=counting(redis.Connection), socket_timeout=0.25,
        socket_connect_timeout=0.25, retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
    )  # fmt: skip
    client = redis.Redis(connection_pool=pool)
    store = RedisRefreshStore(client, prefix="bench:")

    def trips() -> str:
        issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
        token = issuer.refresh(issuer.issue_pair("trips").refresh_token).refresh_token
        sent_before = pool.connection_class.sent
        with commands_run(admin) as ran:
            for _ in range(100):
                token = issuer.refresh(token).refresh_token
        sent = (pool.connection_class.sent - sent_before) / 100
        inside = ", ".join(f"{name} {calls / 100:g}" for name, calls in sorted(ran.items()))
        script = admin.info("commandstats")["cmdstat_evalsha"]["usec_per_call"]
        ping = median_us(repeated(client.ping), 400, 5)[0]
        return (
            f"{sent:g} round trip per rotation; Redis ran: {inside}; the script {script:g} µs in Redis; "
            f"a PING {ping:.1f} µs from here  [{describe(admin, 'loopback')}]"
        )

    try:
        yield store, trips
    finally:
        client.close()
        admin.close()
        server.stop()


def sql_trips(store: Any) -> str:
    from sqlalchemy import event

    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    token = issuer.refresh(issuer.issue_pair("trips").refresh_token).refresh_token
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(store.engine, "before_cursor_execute", seen)
    token = issuer.refresh(token).refresh_token
    event.remove(store.engine, "before_cursor_execute", seen)
    figures = f"statements: {' '.join(statements)}"
    if store.engine.dialect.name == "postgresql":
        with tempfile.TemporaryFile("w+") as trace:
            # Every connection the pool hands out is traced while it is out.
            def out(dbapi: Any, *_: Any) -> None:
                dbapi.pgconn.trace(trace.fileno())

            def back(dbapi: Any, *_: Any) -> None:
                dbapi.pgconn.untrace()

            event.listen(store.engine, "checkout", out)
            event.listen(store.engine, "checkin", back)
            issuer.refresh(token)
            event.remove(store.engine, "checkout", out)
            event.remove(store.engine, "checkin", back)
            trace.seek(0)
            sent = [line.split("\t")[3].strip() for line in trace if line.split("\t")[1:2] == ["F"]]
        trips = sum(kind in ("Query", "Sync") for kind in sent)
        figures += f"; {trips} round trips to PostgreSQL (libpq trace: {' '.join(sent)})"
    return figures


@contextmanager
def sql_store(kind: str) -> Iterator[tuple[Any, Callable[[], str]]]:
    from backendkit.auth.sqlalchemy import SQLRefreshStore

    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            store = SQLRefreshStore.from_url(f"sqlite:///{folder}/sessions.db", create=True)
            try:
                yield store, lambda: sql_trips(store)
            finally:
                store.close()
        return
    import psycopg

    url = os.environ.get("BACKENDKIT_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        version = conn.execute("SHOW server_version").fetchone()
    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"
    store = SQLRefreshStore.from_url(sa_url, create=True)
    try:
        yield store, lambda: f"{sql_trips(store)}  [PostgreSQL {version[0] if version else '?'} on loopback]"
    finally:
        store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def memory_store() -> Iterator[tuple[Any, Callable[[], str]]]:
    yield MemoryRefreshStore(), lambda: "no round trip (a lock in this process)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="rotations per sample")
    parser.add_argument("--rounds", type=int, default=7, help="samples per figure")
    parser.add_argument("--only", default="memory,redis,sqlite,postgres")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    print(f"{'store':<10} {'store.rotate µs':>22} {'TokenIssuer.refresh µs':>26}   (median, best of {args.rounds})")
    opened = {"memory": memory_store, "redis": redis_store, "sqlite": lambda: sql_store("sqlite")}
    opened["postgres"] = lambda: sql_store("postgres")
    notes = []
    for kind in args.only.split(","):
        with opened[kind]() as (store, trips):
            alone = median_us(store_chain(store), args.n, args.rounds)
            full = median_us(issuer_chain(store), args.n, args.rounds)
            print(f"{kind:<10} {alone[0]:>14.1f} ({alone[1]:.1f}) {full[0]:>18.1f} ({full[1]:.1f})")
            notes.append(f"{kind}: {trips()}")
    print("\n".join(notes))


if __name__ == "__main__":
    main()
