"""Concurrent writers that all read the same version: exactly one wins, every other gets the 412 with the new tag.

Each writer is a thread with a connection of its own, so the database, not Python, decides who wins: the
winner holds its row lock a while before committing, and the others' UPDATEs wait on it, then find the
version changed (PostgreSQL re-reads the row at READ COMMITTED; SQLite serialises writers on its lock).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Table, create_engine, insert, select, text

from backendkit.errors import PreconditionFailed
from backendkit.http.sqlalchemy import update_if_version
from tests.http.sql import sync_engine, tables
from tests.support.postgres import Schema

WRITERS = 8
ROUNDS = 5


def race(engine: Engine, task: Table, version: int, *, hold: float = 0.2) -> dict[str, Any]:
    """WRITERS threads send the same version at once; what each got."""
    barrier = threading.Barrier(WRITERS)
    won: list[tuple[int, int]] = []
    refused: list[dict[str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        try:
            with engine.connect() as conn:
                conn.execute(select(1)).all()  # connected before the start: the race is the UPDATE's alone
                conn.rollback()
                barrier.wait(timeout=30)
                try:
                    with conn.begin():
                        new = update_if_version(conn, task, 1, str(version), {"title": f"writer {n}"})
                        time.sleep(hold)  # the row stays locked: the others queue behind it
                except PreconditionFailed as exc:
                    with lock:
                        refused.append(exc.headers)
                else:
                    with lock:
                        won.append((n, new))
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return {"won": won, "refused": refused}


def check_rounds(engine: Engine, task: Table) -> None:
    for round_ in range(ROUNDS):
        version = round_ + 1
        outcome = race(engine, task, version)
        assert len(outcome["won"]) == 1, outcome
        ((winner, new),) = outcome["won"]
        assert new == version + 1
        assert outcome["refused"] == [{"ETag": f'"v{new}"'}] * (WRITERS - 1)
        with engine.connect() as conn:
            assert tuple(conn.execute(select(task.c.title, task.c.version)).one()) == (f"writer {winner}", new)


def test_postgresql_read_committed(postgres_schema: Schema) -> None:
    metadata, task, _ = tables("race")
    with sync_engine("postgresql", postgres_schema, metadata, pool_size=WRITERS + 2) as engine:
        with engine.begin() as conn:
            conn.execute(insert(task), {"id": 1, "title": "start", "done": 0, "version": 1})
        check_rounds(engine, task)


def test_sqlite_file(tmp_path: Path) -> None:
    metadata, task, _ = tables("race")
    engine = create_engine(f"sqlite:///{tmp_path / 'race.db'}", connect_args={"timeout": 30})
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(task), {"id": 1, "title": "start", "done": 0, "version": 1})
        check_rounds(engine, task)
    finally:
        engine.dispose()


def test_postgresql_repeatable_read_loser_gets_a_412_not_a_500(postgres_schema: Schema) -> None:
    # At REPEATABLE READ, PostgreSQL does not re-read the row for the second writer: it refuses with a
    # serialization failure (SQLSTATE 40001), which is the same news: someone else changed it first.
    metadata, task, _ = tables("rr")
    with sync_engine("postgresql", postgres_schema, metadata) as engine:
        with engine.begin() as conn:
            conn.execute(insert(task), {"id": 1, "title": "start", "done": 0, "version": 1})
        strict = engine.execution_options(isolation_level="REPEATABLE READ")
        with strict.connect() as late:
            transaction = late.begin()
            late.execute(text("SELECT 1")).all()  # the snapshot is taken: version 1
            with strict.begin() as early:
                assert update_if_version(early, task, 1, "1", {"title": "early"}) == 2
            with pytest.raises(PreconditionFailed) as refused:
                update_if_version(late, task, 1, "1", {"title": "late"})
            transaction.rollback()
        assert refused.value.status == 412
        assert refused.value.headers == {}  # the aborted transaction cannot read the current version
        assert isinstance(refused.value.__cause__, Exception)
        with engine.connect() as conn:
            assert tuple(conn.execute(select(task.c.title, task.c.version)).one()) == ("early", 2)
