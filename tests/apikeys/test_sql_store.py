"""``SQLKeyStore`` beyond the shared table: one statement per operation, the table on your MetaData, reconnection.

Counted, not timed: each operation is one statement on a connection in
autocommit (no ``BEGIN``/``COMMIT`` round trips), seen by SQLAlchemy's cursor events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, MetaData, create_engine, event, inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import StaticPool

from backendkit.apikeys import APIKeys, KeyRecord, RotationRefused, store_from_url
from backendkit.apikeys.sqlalchemy import DEFAULT_TABLE, SQLKeyStore, key_table
from backendkit.errors import ConfigurationError
from backendkit.stores import StoreUnavailable
from tests.support.postgres import Schema

NOW = 1_800_000_000.0


def record(key_id: str = "k1", **changes: Any) -> KeyRecord:
    return KeyRecord(**{"id": key_id, "digest": "ab" * 32, "owner": "alice", "created_at": NOW, **changes})


@pytest.fixture(params=["sqlite", "sqlite-memory", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    elif request.param == "sqlite-memory":  # one connection, shared by the threads (SQLAlchemy's recipe)
        made = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        schema: Schema = request.getfixturevalue("postgres_schema")
        made = create_engine(schema.sqlalchemy_url(), connect_args={"options": schema.options})
    yield made
    made.dispose()


@pytest.fixture
def table_name(engine: Engine) -> Iterator[str]:
    name = f"keys_{uuid.uuid4().hex[:8]}"
    yield name
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')


def statements(engine: Engine) -> list[tuple[str, bool]]:
    """Every statement sent from now on, and whether its connection was in autocommit."""
    sent: list[tuple[str, bool]] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        dbapi = conn.connection.dbapi_connection
        autocommit = getattr(dbapi, "autocommit", None)
        sent.append((statement.split()[0].upper(), autocommit is True or dbapi.isolation_level is None))

    event.listen(engine, "before_cursor_execute", seen)
    return sent


def test_each_operation_is_one_statement_in_autocommit(engine: Engine, table_name: str) -> None:
    store = SQLKeyStore(engine, table_name=table_name, create=True)
    sent = statements(engine)
    store.add(record("k1"))
    store.get("k1")
    store.list("alice")
    store.revoke("k1", NOW)
    store.touch("k1", NOW)
    assert sent == [
        ("INSERT", True),
        ("SELECT", True),
        ("SELECT", True),
        ("UPDATE", True),
        ("UPDATE", True),
    ]
    store.close()  # the engine is the caller's: still usable


def test_a_rotation_is_one_transaction_and_the_connection_goes_back_in_autocommit(
    engine: Engine, table_name: str
) -> None:
    store = SQLKeyStore(engine, table_name=table_name, create=True)
    store.add(record("k1"))
    sent = statements(engine)
    assert store.rotate("k1", record("k2"), NOW + 60) == "k2"
    assert store.rotate("k1", record("k3"), NOW + 60) == "k2"  # lost: the UPDATE changes no row, nothing kept
    store.touch("k1", NOW)
    store.revoke("k2", NOW)
    assert store.rotate("k2", record("k4"), NOW + 60) is RotationRefused.REVOKED  # as lost: nothing kept
    # The transaction is the store's own, sent on the autocommit connection (SQLite: with the write lock from
    # BEGIN; PostgreSQL: BEGIN ISOLATION LEVEL READ COMMITTED), which stays in autocommit for what follows.
    rotation = [("BEGIN", True), ("UPDATE", True), ("INSERT", True), ("COMMIT", True)]
    lost = [("BEGIN", True), ("UPDATE", True), ("SELECT", True), ("COMMIT", True)]
    assert sent == [*rotation, *lost, ("UPDATE", True), ("UPDATE", True), *lost]
    assert [made.id for made in store.list()] == ["k1", "k2"]
    store.close()
    assert store.get("k1") is not None


def test_the_table_is_the_one_on_your_metadata(engine: Engine, table_name: str) -> None:
    metadata = MetaData()
    mine = key_table(metadata, table_name)  # as in your models module, where Alembic looks
    store = SQLKeyStore(engine, table_name=table_name, metadata=metadata, create=True)
    assert store.table is mine
    assert store.metadata is metadata
    columns = {column["name"]: column for column in inspect(engine).get_columns(table_name)}
    assert list(columns) == [
        "id",
        "digest",
        "owner",
        "name",
        "roles",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "rotated_to",
        "prefix",
    ]
    assert inspect(engine).get_pk_constraint(table_name)["constrained_columns"] == ["id"]
    assert [(ix["name"], ix["column_names"]) for ix in inspect(engine).get_indexes(table_name)] == [
        (f"ix_{table_name}_owner", ["owner"])
    ]
    assert key_table(MetaData()).name == DEFAULT_TABLE == "backendkit_api_keys"


def test_create_is_idempotent_and_without_it_nothing_is_made(engine: Engine, table_name: str) -> None:
    SQLKeyStore(engine, table_name=table_name)
    assert not inspect(engine).has_table(table_name)
    SQLKeyStore(engine, table_name=table_name, create=True).add(record("k1"))
    again = SQLKeyStore(engine, table_name=table_name, create=True)
    assert again.get("k1") == record("k1")


def test_a_missing_table_is_store_unavailable(engine: Engine, table_name: str) -> None:
    with pytest.raises(StoreUnavailable):
        SQLKeyStore(engine, table_name=table_name).get("k1")


def test_an_owner_longer_than_the_column_is_refused_before_the_database(engine: Engine, table_name: str) -> None:
    store = SQLKeyStore(engine, table_name=table_name, create=True)
    with pytest.raises(ValueError, match="255"):
        store.add(record(owner="x" * 256))
    store.add(record(owner="x" * 255))
    with pytest.raises(ValueError, match="255"):  # through APIKeys too: not a taken id, so not tried again
        APIKeys(store, prefix="bk_test_").create("x" * 256)
    assert [made.owner for made in store.list()] == ["x" * 255]


def test_a_connection_the_server_closed_is_replaced_once(postgres_schema: Schema) -> None:
    url = f"{postgres_schema.sqlalchemy_url()}?options=-csearch_path%3D{postgres_schema.name}"
    store = SQLKeyStore.from_url(url, create=True, table_name=f"keys_{uuid.uuid4().hex[:8]}")
    try:
        store.add(record("k1"))
        with psycopg.connect(postgres_schema.url, autocommit=True) as admin:  # a restart, as the pool sees it
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = ''"
                " AND query LIKE %s",
                (f"%{store.table.name}%",),
            ).fetchall()
        assert ended == [(True,)]  # the store's one pooled connection
        assert store.get("k1") == record("k1")
    finally:
        store.table.drop(store.engine)
        store.close()


def test_an_engine_of_its_own_is_closed_with_the_store(tmp_path: Any) -> None:
    store = SQLKeyStore.from_url(f"sqlite:///{tmp_path / 'k.db'}", create=True)
    store.add(record())
    assert store.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    store.close()
    assert store.engine.pool.checkedin() == 0  # type: ignore[attr-defined]


def test_an_in_memory_database_is_one_for_every_thread() -> None:
    import threading

    store = SQLKeyStore.from_url("sqlite://", create=True)
    store.add(record())
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(store.get("k1")))
    worker.start()
    worker.join()
    assert found == [record()]


@pytest.mark.parametrize(
    "bad",
    ["not a url", "nosuchdialect://x", "sqlite+nosuchdriver:///k.db"],
)
def test_a_bad_url_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        SQLKeyStore.from_url(bad)


def test_what_is_not_a_sync_engine_is_refused() -> None:
    async_engine = create_async_engine("sqlite+aiosqlite://")
    with pytest.raises(ConfigurationError, match="sync"):
        SQLKeyStore(async_engine)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="timeout"):
        SQLKeyStore.from_url("sqlite://", timeout=0)
    with pytest.raises(ConfigurationError):
        SQLKeyStore("sqlite://", on_store_error="maybe")  # type: ignore[arg-type]


def test_store_from_url_makes_the_table(tmp_path: Any) -> None:
    store = store_from_url(f"sqlite:///{tmp_path / 'keys.db'}")
    assert isinstance(store, SQLKeyStore)
    made = APIKeys(store).create("alice")
    assert store.get(made.record.id) == made.record
    store.close()
