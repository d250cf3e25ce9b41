"""The database checks against the local PostgreSQL: they pass with a round trip in ms, and a hung query is cut.

SQLAlchemy's sync engine (psycopg) and async engine (psycopg async), and Django's
``postgres`` connection. The hung query is a ``pg_sleep`` on the same engine, marked
so the test can find it in ``pg_stat_activity`` (other sessions may share the server).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.ext.asyncio import create_async_engine

from backendkit.health import STILL_RUNNING, TIMED_OUT, Health, Report
from backendkit.health.checks import async_sqlalchemy_check, django_database_check, sqlalchemy_check
from tests.support.postgres import Schema

HANG_TIMEOUT = 0.3
MARGIN = 0.5  # seconds past the timeout the report may take on a loaded machine
_MARKED = "FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND position(%s in query) > 0"
COUNT = "SELECT count(pid) " + _MARKED
CANCEL = "SELECT count(pg_cancel_backend(pid)) " + _MARKED


def _activity(schema: Schema, marker: str, *, cancel: bool = False) -> int:
    """How many active queries carry ``marker`` on the server (after asking it to cancel them, with ``cancel``)."""
    import psycopg

    query = CANCEL if cancel else COUNT
    with psycopg.connect(schema.url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(query, (marker,)).fetchone()
    assert row is not None
    return int(row[0])


def _outcomes(report: Report) -> dict[str, tuple[str, str | None, str | None]]:
    return {o.check.name: (o.result.status, o.result.output, o.result.observed_unit) for o in report.outcomes}


def _round_trip(report: Report, name: str) -> float:
    [outcome] = [o for o in report.outcomes if o.check.name == name]
    assert (outcome.result.status, outcome.result.observed_unit) == ("pass", "ms")
    value = outcome.result.observed_value
    assert isinstance(value, float)
    assert 0 < value < 2000
    entry = report.body(verbose=True)["checks"][name][0]
    assert (entry["observedValue"], entry["observedUnit"]) == (value, "ms")
    return value


@pytest.fixture
def engine(postgres_schema: Schema) -> Iterator[Engine]:
    engine = create_engine(postgres_schema.sqlalchemy_url(), connect_args={"options": postgres_schema.options})
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_sqlalchemy_engine_answers_select_1(engine: Engine) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        health = Health(interval=0)
        health.add("postgres:responseTime", sqlalchemy_check(engine), timeout=2.0, component_type="datastore")
        first, second = health.ready(), health.ready()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert (first.status, first.http_status) == ("pass", 200)
    _round_trip(first, "postgres:responseTime")
    _round_trip(second, "postgres:responseTime")
    assert statements == ["SELECT 1", "SELECT 1"]  # one round trip per run, on the engine given
    assert engine.pool.checkedout() == 0  # the check gave its connection back


def test_a_hung_query_is_cut_at_its_timeout_and_not_started_again_while_it_runs(
    engine: Engine, postgres_schema: Schema
) -> None:
    marker = f"bk_hang_{uuid.uuid4().hex}"
    returned = threading.Event()

    def hangs() -> None:
        try:
            with engine.connect() as connection:
                connection.execute(text(f"SELECT pg_sleep(5) /* {marker} */"))
        finally:
            returned.set()

    health = Health(interval=0)
    health.add("postgres:sleep", hangs, timeout=HANG_TIMEOUT)
    health.add("postgres:responseTime", sqlalchemy_check(engine), timeout=2.0)
    try:
        started = time.perf_counter()
        report = health.ready()
        took = time.perf_counter() - started
        assert HANG_TIMEOUT <= took < HANG_TIMEOUT + MARGIN
        assert report.http_status == 503
        assert _outcomes(report) == {
            "postgres:sleep": ("fail", TIMED_OUT, None),
            "postgres:responseTime": ("pass", None, "ms"),  # the same engine still answers meanwhile
        }
        assert report.body(verbose=True)["checks"]["postgres:sleep"][0]["output"] == "timed out"
        # A thread cannot be stopped: the query runs on, and the next probe does not pile another on it.
        assert _activity(postgres_schema, marker) == 1
        again = health.ready()
        assert _outcomes(again)["postgres:sleep"] == ("fail", STILL_RUNNING, None)
        assert _activity(postgres_schema, marker) == 1
    finally:
        _activity(postgres_schema, marker, cancel=True)
        assert returned.wait(10)


def test_an_async_engine_answers_and_a_hung_query_is_cancelled_on_the_server(postgres_schema: Schema) -> None:
    marker = f"bk_hang_{uuid.uuid4().hex}"

    async def main() -> tuple[Report, Report, float]:
        engine = create_async_engine(
            postgres_schema.sqlalchemy_url(), connect_args={"options": postgres_schema.options}
        )
        try:
            health = Health(interval=0)
            health.add("postgres:responseTime", async_sqlalchemy_check(engine), timeout=2.0)
            passing = await health.aready()

            async def hangs() -> None:
                async with engine.connect() as connection:
                    await connection.execute(text(f"SELECT pg_sleep(5) /* {marker} */"))

            hanging = Health(interval=0)
            hanging.add("postgres:sleep", hangs, timeout=HANG_TIMEOUT)
            hanging.add("postgres:responseTime", async_sqlalchemy_check(engine), timeout=2.0)
            started = time.perf_counter()
            cut = await hanging.aready()
            took = time.perf_counter() - started
            assert engine.sync_engine.pool.checkedout() == 0
            return passing, cut, took
        finally:
            await engine.dispose()

    try:
        passing, cut, took = asyncio.run(main())
        _round_trip(passing, "postgres:responseTime")
        assert HANG_TIMEOUT <= took < HANG_TIMEOUT + MARGIN
        assert _outcomes(cut) == {
            "postgres:sleep": ("fail", TIMED_OUT, None),
            "postgres:responseTime": ("pass", None, "ms"),
        }
        # On the event loop the check is cancelled, and the driver cancels the query on the server.
        assert _activity(postgres_schema, marker) == 0
    finally:
        _activity(postgres_schema, marker, cancel=True)


def test_a_django_postgres_connection_answers_and_is_closed_after(postgres_schema: Schema) -> None:
    from django.conf import settings
    from django.db.backends.signals import connection_created

    if "postgres" not in settings.DATABASES:
        pytest.skip("the test settings have no 'postgres' database")
    opened: list[Any] = []

    def created(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(connection)

    connection_created.connect(created)
    try:
        health = Health(interval=0)
        health.add("postgres:responseTime", django_database_check("postgres"), timeout=2.0)
        report = health.ready()
    finally:
        connection_created.disconnect(created)
    _round_trip(report, "postgres:responseTime")
    assert [connection.alias for connection in opened] == ["postgres"]
    assert opened[0].vendor == "postgresql"
    assert opened[0].connection is None  # the check closed the connection its thread opened
