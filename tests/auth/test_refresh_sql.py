"""SQLRefreshStore on SQLite and the local PostgreSQL: its tables, its statements, its locks, a dead database.

A rotation is one transaction of at most three statements; a rotation waiting on
another's lock waits at most the store's timeout; a dead database is a
``StoreUnavailable`` from the store and a 503 from the issuer.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, event, inspect, select, text

from backendkit.auth import HMACKey, InvalidGrant, RefreshPolicy, TokenIssuer
from backendkit.auth._core.refresh import FORMAT, Family
from backendkit.auth.sqlalchemy import SQLRefreshStore, refresh_tables
from backendkit.errors import ConfigurationError, ServiceUnavailable
from backendkit.stores import StoreUnavailable
from tests.auth.refresh_support import postgres_url
from tests.support.net import free_port

KEY = HMACKey("tests-only-refresh-secret-of-32-bytes!!")
POLICY = RefreshPolicy(idle=3_600, lifetime=86_400, reuse_window=10)
T0 = 1_800_000_000.0


def url_of(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    return postgres_url(request.getfixturevalue("postgres_schema"))


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return url_of(request.param, request, tmp_path)


@pytest.fixture
def store(url: str) -> Iterator[SQLRefreshStore]:
    made = SQLRefreshStore.from_url(url, create=True, table_prefix=f"r{uuid.uuid4().hex[:10]}_", timeout=1)
    yield made
    made.close()


def family_id(token: str) -> str:
    parsed = FORMAT.parse(token)
    assert not isinstance(parsed, str)
    return parsed.id


def test_the_tables_go_on_the_applications_metadata(url: str) -> None:
    metadata = MetaData()
    prefix = f"app{uuid.uuid4().hex[:8]}_refresh_"
    engine = create_engine(url)
    store = SQLRefreshStore(engine, metadata=metadata, table_prefix=prefix)
    assert set(metadata.tables) == {f"{prefix}families", f"{prefix}spent"}
    assert refresh_tables(metadata, prefix) == (store.families_table, store.spent_table)  # the same, not twice
    metadata.create_all(engine)  # as the application's own migrations would
    names = set(inspect(engine).get_table_names())
    assert {f"{prefix}families", f"{prefix}spent"} <= names
    indexes = {tuple(index["column_names"]) for index in inspect(engine).get_indexes(f"{prefix}families")}
    assert {("subject",), ("ends_at",)} <= indexes
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    pair = issuer.issue_pair("alice")
    assert issuer.refresh(pair.refresh_token).refresh_token != pair.refresh_token
    store.close()  # the engine was given: still the application's
    with engine.connect() as conn:
        assert conn.execute(select(store.families_table.c.subject)).scalars().all() == ["alice"]
    engine.dispose()


def test_a_rotation_is_three_statements_in_one_transaction(store: SQLRefreshStore) -> None:
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    pair = issuer.issue_pair("alice")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(store.engine, "before_cursor_execute", seen)
    for _ in range(5):
        pair = issuer.refresh(pair.refresh_token)
    event.remove(store.engine, "before_cursor_execute", seen)
    rotation = statements[: len(statements) // 5]
    # The row locked and read, the family written, the spent digest kept (SQLite: its transaction's own lines).
    assert [s for s in rotation if s in ("SELECT", "UPDATE", "INSERT")] == ["SELECT", "UPDATE", "INSERT"]
    assert len(statements) == 5 * len(rotation)


def test_only_digests_are_kept(store: SQLRefreshStore) -> None:
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    first = issuer.issue_pair("alice")
    second = issuer.refresh(first.refresh_token)
    with store.engine.connect() as conn:
        rows = [*conn.execute(select(store.families_table)), *conn.execute(select(store.spent_table))]
    dumped = json.dumps([list(map(str, row)) for row in rows])
    for token in (first.refresh_token, second.refresh_token):
        assert token[len("bkr_") + 23 : -6] not in dumped  # the secret, nowhere


def test_a_family_id_is_kept_once(store: SQLRefreshStore) -> None:
    family = Family("f" * 22, "alice", current="d1", created_at=T0, last_used_at=T0)
    store.create(family, POLICY)
    with pytest.raises(ValueError, match="exists"):
        store.create(family, POLICY)
    assert store.families("alice") == ["f" * 22]


def test_ended_families_are_pruned_with_their_spent_digests(store: SQLRefreshStore) -> None:
    clock = [T0]
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY, clock=lambda: clock[0])
    old = issuer.issue_pair("alice")
    issuer.refresh(old.refresh_token)
    clock[0] += POLICY.lifetime  # its absolute end
    new = issuer.issue_pair("alice")  # a login deletes the families ended by now
    assert store.families("alice") == [family_id(new.refresh_token)]
    with store.engine.connect() as conn:
        assert conn.execute(select(store.spent_table.c.family_id)).scalars().all() == []
    with pytest.raises(InvalidGrant) as refused:
        issuer.refresh(old.refresh_token)
    assert refused.value.reason == "unknown"
    clock[0] += POLICY.lifetime
    assert store.prune(clock[0]) == 1
    assert store.families("alice") == []


def test_a_rotation_waits_for_another_at_most_the_timeout(store: SQLRefreshStore) -> None:
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    pair = issuer.issue_pair("alice")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another transaction holding the family's row (SQLite: the database's write lock)
        with store.engine.connect() as raw:
            conn = raw.execution_options(isolation_level="AUTOCOMMIT")
            if store.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")
                table = store.families_table.name
                conn.execute(
                    text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"), {"id": family_id(pair.refresh_token)}
                )
            held.set()
            release.wait(10)
            conn.exec_driver_sql("ROLLBACK")

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    started = time.monotonic()
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            issuer.refresh(pair.refresh_token)
        assert 0.9 < time.monotonic() - started < 5  # the store's timeout, 1 s (and a busy machine's slack)
        assert isinstance(caught.value.__cause__, StoreUnavailable)
    finally:
        release.set()
        holder.join(10)
    assert issuer.refresh(pair.refresh_token).refresh_token  # the lock gone, the token still live


def test_a_dead_database_is_a_503() -> None:
    store = SQLRefreshStore.from_url(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test", timeout=1)
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    with pytest.raises(ServiceUnavailable) as caught:
        issuer.refresh(FORMAT.compose(b"\x01" * 16, b"\x02" * 32))
    assert caught.value.headers == {"Retry-After": "1"}
    assert isinstance(caught.value.__cause__, StoreUnavailable)
    with pytest.raises(StoreUnavailable):  # from the store itself: never an HTTP error
        store.families("alice")
    store.close()


def test_missing_tables_are_store_unavailable_until_created(tmp_path: Path) -> None:
    store = SQLRefreshStore.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StoreUnavailable, match="no such table"):
        store.families("alice")
    store.create_tables()
    assert store.families("alice") == []
    store.close()


@pytest.mark.parametrize(
    ("url", "options"),
    [("not a url", {}), ("sqlite://", {"timeout": 0}), ("sqlite://", {"timeout": True})],
)
def test_bad_settings_are_refused_at_start_up(url: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        SQLRefreshStore.from_url(url, **options)


def test_an_engine_is_required() -> None:
    with pytest.raises(ConfigurationError, match="Engine"):
        SQLRefreshStore("sqlite://")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["get", "families"])
def test_on_sqlite_memory_a_read_waits_for_a_write_in_its_transaction(name: str) -> None:
    """sqlite:// is one connection the threads share: a read sent during a revocation's transaction waits for it.

    It ran inside that transaction, and the connection's return to the pool rolled the revocation back (the
    revocation then failed to commit, and the family stayed live).
    """
    store = SQLRefreshStore.from_url("sqlite://", create=True)
    store.create(Family("f1", "alice", current="d1", created_at=T0, last_used_at=T0), POLICY)
    store.create(Family("f2", "bob", current="d2", created_at=T0, last_used_at=T0), POLICY)
    writer: list[threading.Thread] = []
    inside, go = threading.Event(), threading.Event()

    @event.listens_for(store.engine, "after_cursor_execute")
    def pause(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread() in writer and statement.lstrip().upper().startswith("UPDATE"):
            inside.set()
            go.wait(10)

    revoked: list[Any] = []
    writer.append(threading.Thread(target=lambda: revoked.append(store.revoke("f1", T0 + 1, POLICY))))
    writer[0].start()
    assert inside.wait(10)
    read: list[Any] = []
    reader = threading.Thread(target=lambda: read.append(getattr(store, name)("f2" if name == "get" else "bob")))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive()  # it waits for the revocation's transaction to end
    go.set()
    writer[0].join(10)
    reader.join(10)
    assert revoked[0] is not None
    assert revoked[0].revoked_at == T0 + 1
    kept = store.get("f1")
    assert kept is not None
    assert kept.revoked_at == T0 + 1  # the revocation stands
    assert read[0] == (["f2"] if name == "families" else store.get("f2"))
    store.close()
