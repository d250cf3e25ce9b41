"""backendkit.pagination against fastapi-pagination on SQLite and PostgreSQL: page 1, a page 100,000 rows deep.

A ``tasks`` table of --rows rows (priority NOT NULL in 100 levels, id the tiebreaker), indexed on
(priority DESC, id ASC); every method serves ``-priority,id``, 20 ORM entities a page, a session per request.

1. ms per page for backendkit keyset (the deep cursor signed by the same Pagination's codec from the row
   at that depth) and offset (page / per_page, count="none"); fastapi-pagination's CursorPage (sqlakeyset)
   and LimitOffsetPage, each as shipped (with its COUNT(*) on every page) and with UseIncludeTotal(False);
2. µs per cursor encode + decode pair (a 2-value position), backendkit and fastapi-pagination's format.

SQLite runs on a temporary file, PostgreSQL in a schema of the run's own; both are removed at the end.
Cases are interleaved round by round; the best and the median round are reported.

    python benchmarks/pagination_bench.py [--rows 1000000] [--rounds 7] [--skip-sqlite] [--skip-postgres]
        [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from sqlalchemy import Engine, Integer, String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from backendkit.pagination import Pagination, Position, SortSpec, filters_text
from backendkit.pagination.backends.sqlalchemy import paginate
from benchmarks._harness.measure import Samples, best, measure_ns, median, ratio_of_bests, repeated, scaled
from benchmarks._harness.run import Run, Summary, parse

SECRET = "a-secret-of-at-least-16-bytes"
SIZE = 20
LEVELS = 100
DEPTH = 100_000
PACKAGES = ("backendkit", "sqlalchemy", "fastapi-pagination", "sqlakeyset", "psycopg", "fastapi", "pydantic")
DDL = (
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY, priority INTEGER NOT NULL,"
    " title VARCHAR(40) NOT NULL, owner INTEGER NOT NULL)"
)
INDEX = "CREATE INDEX ix_tasks_priority_id ON tasks (priority DESC, id ASC)"
TARGET_SAMPLE_S = 0.05  # each sample repeats a fetch until it lasts about this long (at most 200 times)


class Base(DeclarativeBase):
    pass


class Task(Base):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(40), nullable=False)
    owner: Mapped[int] = mapped_column(Integer, nullable=False)


def rows(n: int) -> Iterator[tuple[int, int, str, int]]:
    rng = random.Random(20240601)
    for i in range(1, n + 1):
        yield i, rng.randrange(LEVELS), f"task number {i}", rng.randrange(1000)


def measure(runners: dict[str, Callable[[], object]], rounds: int, unit: float) -> Samples:
    """Per call, in units of ``unit`` seconds; each runner once per round, in turn, repeated to fill a sample.

    Each is warmed up once (connection, statement caches, pages in memory), then timed once to choose its
    repetitions: about TARGET_SAMPLE_S a sample, at most 200.
    """
    timed = measure_ns(
        {name: repeated(run) for name, run in runners.items()},
        rounds,
        TARGET_SAMPLE_S,
        least=1,
        warmup=1,
        most=200,
        rotate=False,
    )
    return scaled(timed, unit * 1e9)


# --- databases --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def sqlite_db(args: argparse.Namespace, run: Run) -> Iterator[Engine]:
    """A temporary file, filled in one transaction, deleted at the end."""
    fd, path = tempfile.mkstemp(prefix="pagination_bench_", suffix=".sqlite3")
    os.close(fd)
    engine = create_engine(f"sqlite:///{path}")
    try:
        start = time.perf_counter()
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute(DDL)
            with conn:  # one transaction
                conn.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?)", rows(args.rows))
            conn.execute(INDEX)
            conn.execute("ANALYZE")
        print(f"1a. SQLite {sqlite3.sqlite_version}, temporary file ({time.perf_counter() - start:.1f} s to build)")
        yield engine
    finally:
        engine.dispose()
        for leftover in glob.glob(path + "*"):
            os.unlink(leftover)


@contextlib.contextmanager
def postgres_db(args: argparse.Namespace, run: Run) -> Iterator[Engine]:
    """A schema of the run's own, filled with COPY, dropped at the end."""
    schema = f"pagination_bench_{os.getpid()}"
    url = args.postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        start = time.perf_counter()
        with psycopg.connect(args.postgres_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"SET search_path TO {schema}")
            conn.execute(DDL)
            with conn.transaction(), conn.cursor().copy("COPY tasks FROM STDIN") as copy:
                for row in rows(args.rows):
                    copy.write_row(row)
            conn.execute(INDEX)
            conn.execute("VACUUM ANALYZE tasks")
            server = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        run.versions["postgresql"] = server
        print(f"1b. PostgreSQL {server}, schema {schema} ({time.perf_counter() - start:.1f} s to build)")
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(args.postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


# --- the fetchers -----------------------------------------------------------------------------------------
def fetchers(engine: Engine, depth: int) -> tuple[dict[str, Callable[[], list[Any]]], list[str]]:
    """(name → fetch, notes): each fetch serves one page as a request would, in a session of its own."""
    from fastapi_pagination import LimitOffsetPage, LimitOffsetParams
    from fastapi_pagination.cursor import CursorPage, CursorParams
    from fastapi_pagination.customization import CustomizedPage, UseIncludeTotal
    from fastapi_pagination.ext.sqlalchemy import paginate as fp_paginate
    from sqlakeyset import serialize_bookmark

    def keys(items: Sequence[Any]) -> list[tuple[int, int]]:
        return [(t.priority, t.id) for t in items]

    pages = Pagination(sort=SortSpec(["priority", "id"], default="-priority,id"), secrets=[SECRET], count="none")
    order = (Task.priority.desc(), Task.id.asc())
    ordered = select(Task).order_by(*order)
    with Session(engine) as session:  # the last row before the deep page, and its fellows in its priority level
        before = tuple(
            session.execute(select(Task.priority, Task.id).order_by(*order).offset(depth - 1).limit(1)).one()
        )
        fellows = session.scalar(select(func.count()).where(Task.priority == before[0], Task.id <= before[1]))
    notes = [f"deep position {before}: {fellows:,} rows of priority {before[0]} come before it"]
    bk_cursor = pages.cursor_for(pages.parse([], now=time.time()), before)
    # fastapi-pagination's cursor: a sqlakeyset bookmark (">i:3~i:17"), base64, URL-quoted.
    fp_cursor = CursorParams().encode_cursor(serialize_bookmark((before, False)))
    no_total_cursor = CustomizedPage[CursorPage[Any], UseIncludeTotal(False)].__params_type__  # type: ignore[misc]
    no_total_offset = CustomizedPage[LimitOffsetPage[Any], UseIncludeTotal(False)].__params_type__  # type: ignore[misc]

    def bk(query: list[tuple[str, str]]) -> Callable[[], list[Any]]:
        def fetch() -> list[Any]:
            with Session(engine) as session:
                return paginate(session, select(Task), pages.parse(query, now=time.time())).items

        return fetch

    def fp(make_params: Callable[[], Any]) -> Callable[[], list[Any]]:
        def fetch() -> list[Any]:
            with Session(engine) as session:
                return list(fp_paginate(session, ordered, make_params()).items)

        return fetch

    deep_page = str(depth // SIZE + 1)
    candidates: dict[str, Callable[[], list[Any]]] = {
        "backendkit keyset | page 1": bk([("limit", str(SIZE))]),
        "backendkit keyset | deep": bk([("limit", str(SIZE)), ("cursor", bk_cursor)]),
        "backendkit offset | page 1": bk([("page", "1"), ("per_page", str(SIZE))]),
        "backendkit offset | deep": bk([("page", deep_page), ("per_page", str(SIZE))]),
        "fastapi-pagination cursor, no total | page 1": fp(lambda: no_total_cursor(size=SIZE)),
        "fastapi-pagination cursor, no total | deep": fp(lambda: no_total_cursor(size=SIZE, cursor=fp_cursor)),
        "fastapi-pagination cursor, as shipped | page 1": fp(lambda: CursorParams(size=SIZE)),
        "fastapi-pagination cursor, as shipped | deep": fp(lambda: CursorParams(size=SIZE, cursor=fp_cursor)),
        "fastapi-pagination limit-offset, no total | page 1": fp(lambda: no_total_offset(limit=SIZE, offset=0)),
        "fastapi-pagination limit-offset, no total | deep": fp(lambda: no_total_offset(limit=SIZE, offset=depth)),
        "fastapi-pagination limit-offset, as shipped | page 1": fp(lambda: LimitOffsetParams(limit=SIZE, offset=0)),
        "fastapi-pagination limit-offset, as shipped | deep": fp(lambda: LimitOffsetParams(limit=SIZE, offset=depth)),
    }
    with Session(engine) as session:
        expected = {
            "page 1": keys(session.scalars(ordered.limit(SIZE)).all()),
            "deep": keys(session.scalars(ordered.offset(depth).limit(SIZE)).all()),
        }
    runners: dict[str, Callable[[], list[Any]]] = {}
    for name, fetch in candidates.items():
        try:
            got, want = keys(fetch()), expected[name.split(" | ")[1]]
        except Exception as exc:  # a method that cannot run is reported, not faked
            notes.append(f"{name}: cannot run: {exc!r}")
            continue
        if got != want:
            notes.append(f"{name}: skipped, wrong rows {got[:2]}... (expected {want[:2]}...)")
            continue
        runners[name] = fetch
    return runners, notes


def case_database(label: str, engine: Engine, args: argparse.Namespace, summary: Summary) -> None:
    depth = min(DEPTH, args.rows // 2)
    runners, notes = fetchers(engine, depth)
    for line in notes:
        print(f"  {line}")
    samples = measure(runners, args.rounds, 1e-3)
    print(f"  ms per page ({SIZE} items; deep = after {depth:,} rows; {args.rounds} rounds)")
    print(f"  {'method':<46}{'page 1':>9}{'median':>9}{'deep':>10}{'median':>9}{'deep/p1':>10}{'(median)':>10}")
    for m in dict.fromkeys(name.split(" | ")[0] for name in runners):
        p1, dp = f"{m} | page 1", f"{m} | deep"
        if p1 not in samples or dp not in samples:
            print(f"  {m:<46}(incomplete: see above)")
            continue
        r, rm = ratio_of_bests(samples, dp, p1)
        print(
            f"  {m:<46}{best(samples, p1):>9.3f}{median(samples, p1):>9.3f}{best(samples, dp):>10.3f}"
            f"{median(samples, dp):>9.3f}{r:>9.2f}x{rm:>9.2f}x"
        )
    print("  peer / backendkit (> 1: backendkit is faster), best (median):")
    for ours, theirs in [
        ("backendkit keyset", "fastapi-pagination cursor, no total"),
        ("backendkit keyset", "fastapi-pagination cursor, as shipped"),
        ("backendkit offset", "fastapi-pagination limit-offset, no total"),
        ("backendkit offset", "fastapi-pagination limit-offset, as shipped"),
    ]:
        if not all(f"{n} | {w}" in samples for n in (ours, theirs) for w in ("page 1", "deep")):
            print(f"    {theirs + ' / ' + ours:<72}n/a")
            continue
        (r1, m1), (rd, md) = (ratio_of_bests(samples, f"{theirs} | {w}", f"{ours} | {w}") for w in ("page 1", "deep"))
        print(f"    {theirs + ' / ' + ours:<72}page 1 {r1:.2f}x ({m1:.2f}x), deep {rd:.2f}x ({md:.2f}x)")
        if ours.endswith("keyset"):
            summary.note(
                f"{label}: {theirs[19:]} / bk keyset, page 1 | deep",
                f"{r1:.2f}x | {rd:.2f}x (median {m1:.2f}x | {md:.2f}x)",
            )
    p1, dp = "backendkit keyset | page 1", "backendkit keyset | deep"
    if p1 in samples and dp in samples:
        r, rm = ratio_of_bests(samples, dp, p1)
        summary.target(f"{label}: backendkit keyset deep/page 1 <= 1.5x", r, rm, r <= 1.5, "{:.2f}x")
        summary.note(
            f"{label}: backendkit keyset ms, page 1 | deep", f"{best(samples, p1):.3f} | {best(samples, dp):.3f}"
        )
    print()


# --- cursors ----------------------------------------------------------------------------------------------
def case_cursor(args: argparse.Namespace, summary: Summary) -> None:
    from fastapi_pagination.cursor import CursorParams
    from sqlakeyset import serialize_bookmark, unserialize_bookmark

    pages = Pagination(sort=SortSpec(["priority", "id"], default="-priority,id"), secrets=[SECRET])
    codec, position, filters, now = pages.codec, Position((37, 123_456)), filters_text({}), time.time()
    assert codec is not None
    fp_params = CursorParams()
    n = 20_000

    def bk_pair() -> None:
        for _ in range(n):
            token = codec.encode(position, ordering="-priority,id", filters=filters, now=now)
            codec.decode(token, ordering="-priority,id", filters=filters, now=now)

    def fp_pair() -> None:
        for _ in range(n):
            token = fp_params.encode_cursor(serialize_bookmark((position.values, False)))
            unserialize_bookmark(fp_params.decode_cursor(token))  # type: ignore[arg-type]

    token = codec.encode(position, ordering="-priority,id", filters=filters, now=now)
    assert codec.decode(token, ordering="-priority,id", filters=filters, now=now) == position
    fp_token = fp_params.encode_cursor(serialize_bookmark((position.values, False)))
    assert tuple(unserialize_bookmark(fp_params.decode_cursor(fp_token)).place) == position.values  # type: ignore[arg-type]
    bk, fp = "backendkit CursorCodec (HMAC-signed)", "fastapi-pagination (unsigned)"
    samples = measure({bk: bk_pair, fp: fp_pair}, args.rounds, 1e-6 * n)
    print(f"2. cursor encode + decode, a 2-value position; {n} pairs x {args.rounds} rounds")
    print(f"  {'':<46}{'us/pair':>9}{'median':>9}   token")
    for name, shown in zip(samples, (token, fp_token), strict=True):
        print(f"  {name:<46}{best(samples, name):>9.2f}{median(samples, name):>9.2f}   {shown} ({len(shown)} chars)")
    value, med = best(samples, bk), median(samples, bk)
    summary.target("cursor encode + decode < 10 us", value, med, value < 10, "{:.2f} us")
    summary.note(
        "fastapi-pagination cursor encode + decode", f"{best(samples, fp):.2f} us (median {median(samples, fp):.2f})"
    )
    print()


# --- main -------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parse(parser, quick={"rows": 20_000, "rounds": 2})

    run = Run(PACKAGES)
    run.versions["sqlite"] = sqlite3.sqlite_version
    run.header(f"{args.rows:,} rows, {LEVELS} priority levels, -priority,id, {SIZE} a page; best and median round")

    summary = Summary()
    for label, skip, database in (
        ("sqlite", args.skip_sqlite, sqlite_db),
        ("postgresql", args.skip_postgres, postgres_db),
    ):
        if not skip:
            with database(args, run) as engine:
                case_database(label, engine, args, summary)
    case_cursor(args, summary)

    summary.print()
    run.footer()


if __name__ == "__main__":
    main()
