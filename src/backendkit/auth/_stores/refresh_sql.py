"""Refresh-token families in a SQL database through SQLAlchemy 2.0: :class:`SQLRefreshStore`.

Two tables (:func:`refresh_tables`, on a ``MetaData`` of yours when you pass one,
so Alembic sees them):

- ``<prefix>families``: one row per family: ``id`` (the primary key), ``subject``
  (indexed: "log out everywhere"), ``created_at``, ``ends_at`` (its absolute end,
  indexed: what :meth:`SQLRefreshStore.prune` deletes), ``revoked_at``, and
  ``state``, the family as JSON text (:meth:`~backendkit.auth._core.refresh.Family.to_dict`);
- ``<prefix>spent``: the digest of each token spent (the primary key) and its
  ``family_id`` (indexed), kept as long as the family, so an old token presented
  again is known for a reuse.

A rotation is one transaction that holds the family's row: ``SELECT ... FOR UPDATE``
(PostgreSQL, MySQL...), or on SQLite the database's write lock, taken when the
transaction begins (``BEGIN IMMEDIATE``), since SQLite has no row locks. Two
rotations of one family wait for each other, and the second sees what the first
wrote: one of them rotates, the other is a retry. :func:`~backendkit.auth._core.refresh.decide`
runs between the read and the write, as in every store. PostgreSQL's default
isolation, READ COMMITTED, is the one this needs; under REPEATABLE READ or
SERIALIZABLE the second of two rotations fails (a 503 its client retries).

A driver's error (the database is down, a lock waited for too long) raises
:class:`~backendkit.stores.StoreUnavailable`, which the issuer answers with a 503.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from backendkit._extras import require
from backendkit.auth._core.refresh import Family, Outcome, RefreshPolicy, Rotation, decide
from backendkit.errors import ConfigurationError
from backendkit.stores import StoreUnavailable

require("sqlalchemy", extra="sqlalchemy", module="backendkit.auth.sqlalchemy")

from sqlalchemy import (  # noqa: E402
    Column,
    Connection,
    Double,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    insert,
    make_url,
    select,
    update,
)
from sqlalchemy import exc as sa_exc  # noqa: E402
from sqlalchemy.pool import StaticPool  # noqa: E402
from sqlalchemy.sql.elements import BindParameter  # noqa: E402

DEFAULT_TABLE_PREFIX = "backendkit_refresh_"
DEFAULT_SQL_TIMEOUT = 5.0
"""Seconds a connection, a lock or a statement waits at most, in a store :meth:`SQLRefreshStore.from_url` builds."""

# A driver's failure; anything else is a bug and goes through as it is.
_FAILURES: tuple[type[BaseException], ...] = (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError)


def refresh_tables(metadata: MetaData, prefix: str = DEFAULT_TABLE_PREFIX) -> tuple[Table, Table]:
    """The two tables of the store on ``metadata`` (those already on it when it has them): families, spent digests."""
    families = metadata.tables.get(f"{prefix}families")
    if families is None:
        families = Table(
            f"{prefix}families",
            metadata,
            Column("id", String(64), primary_key=True),
            Column("subject", String(255), nullable=False, index=True),
            Column("created_at", Double, nullable=False),
            Column("ends_at", Double, nullable=False, index=True),
            Column("revoked_at", Double, nullable=True),
            Column("state", Text, nullable=False),
        )
    spent = metadata.tables.get(f"{prefix}spent")
    if spent is None:
        spent = Table(
            f"{prefix}spent",
            metadata,
            Column("digest", String(128), primary_key=True),
            Column("family_id", String(64), nullable=False, index=True),
            Column("spent_at", Double, nullable=False),
        )
    return families, spent


def _state(family: Family) -> str:
    return json.dumps(family.to_dict(), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _unavailable(exc: BaseException) -> StoreUnavailable:
    # The driver's own message: SQLAlchemy's adds the statement and its parameters (digests), kept out of logs.
    cause = getattr(exc, "orig", None) or exc
    return StoreUnavailable(f"sql: {type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}")


class SQLRefreshStore:
    """Refresh-token families in SQL (SQLite, PostgreSQL; any database SQLAlchemy 2.0 locks rows on).

    Args:
        engine: A SQLAlchemy ``Engine`` (sync).
        metadata: The ``MetaData`` the tables go on (yours, for Alembic); a new one when ``None``.
        table_prefix: Prepended to the tables' names (``families``, ``spent``).

    Create the tables with :meth:`create_tables` (or ``from_url(..., create=True)``, or your
    migrations). :meth:`close` disposes of an engine the store made; one given stays yours.

    Example:
        >>> from backendkit.auth import RefreshPolicy
        >>> from backendkit.auth._core.refresh import Family
        >>> store = SQLRefreshStore.from_url("sqlite://", create=True)
        >>> store.create(Family("f1", "alice", current="d1", created_at=0.0, last_used_at=0.0), RefreshPolicy())
        >>> store.families("alice")
        ['f1']
        >>> store.close()
    """

    store_name = "the SQL refresh-token store"  # in the issuer's outage log lines

    def __init__(
        self, engine: Engine, *, metadata: MetaData | None = None, table_prefix: str = DEFAULT_TABLE_PREFIX
    ) -> None:
        if not isinstance(engine, Engine):
            raise ConfigurationError(f"engine is a SQLAlchemy Engine (create_engine(url)), not {engine!r}")
        self.engine = engine
        self.metadata = MetaData() if metadata is None else metadata
        self.families_table, self.spent_table = refresh_tables(self.metadata, table_prefix)
        self._sql = _Statements(self.families_table, self.spent_table)
        self._sqlite = engine.dialect.name == "sqlite"
        # SQLite takes one writer at a time: threads of this process queue here rather than on its busy timeout.
        self._lock = threading.Lock() if self._sqlite else None
        # One connection the threads share (a StaticPool: sqlite://): a read sent during a write's transaction
        # would run inside it, and the connection's return to the pool would roll the write back. Reads queue too.
        self._shared = self._sqlite and isinstance(engine.pool, StaticPool)
        self._owned = False

    @classmethod
    def from_url(
        cls, url: str, *, create: bool = False, timeout: float = DEFAULT_SQL_TIMEOUT, **options: Any
    ) -> SQLRefreshStore:
        """A store on an engine of its own for ``url`` (``sqlite:///sessions.db``, ``postgresql+psycopg://...``).

        Args:
            url: A SQLAlchemy URL (``sqlite://`` is one database in this process's memory).
            create: Create the tables when they are missing.
            timeout: Seconds a connection, a lock or a statement waits at most.
            options: The constructor's (``metadata``, ``table_prefix``).
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
            raise ConfigurationError(f"timeout is a positive number of seconds, not {timeout!r}")
        try:
            parsed = make_url(url)
        except sa_exc.ArgumentError as exc:
            raise ConfigurationError(f"not a SQLAlchemy URL: {url!r}") from exc
        engine_options: dict[str, Any] = {"hide_parameters": True}
        if parsed.get_backend_name() == "sqlite":
            engine_options["connect_args"] = {"timeout": timeout, "check_same_thread": False}
            if parsed.database in (None, "", ":memory:"):  # one connection, or each would see a database of its own
                engine_options["poolclass"] = StaticPool
        elif parsed.get_backend_name() == "postgresql":
            engine_options["connect_args"] = {"connect_timeout": max(2, math.ceil(timeout))}
        engine = create_engine(parsed, **engine_options)
        if parsed.get_backend_name() == "postgresql":
            _bound_waits(engine, timeout)
        store = cls(engine, **options)
        store._owned = True
        if create:
            store.create_tables()
        return store

    def create_tables(self) -> None:
        """Create the two tables (and their indexes) where they are missing."""
        with self._wrapped():
            self.metadata.create_all(self.engine, tables=[self.families_table, self.spent_table])

    def close(self) -> None:
        """Dispose of the engine's connections, when the store made the engine (:meth:`from_url`)."""
        if self._owned:
            self.engine.dispose()

    # The operations.

    def create(self, family: Family, policy: RefreshPolicy) -> None:
        """Keep a new family (families ended by now are deleted in the same transaction)."""
        row = {
            "id": family.id,
            "subject": family.subject,
            "created_at": family.created_at,
            "ends_at": family.created_at + policy.lifetime,
            "revoked_at": family.revoked_at,
            "state": _state(family),
        }
        try:
            with self._locked() as conn:
                self._prune(conn, family.created_at)
                conn.execute(self._sql.add_family, row)
        except StoreUnavailable as exc:
            if isinstance(exc.__context__, sa_exc.IntegrityError):  # (raised "from None": the context holds it)
                raise ValueError(f"family {family.id!r} exists") from None
            raise

    def rotate(self, family_id: str, presented: str, rotation: Rotation, now: float, policy: RefreshPolicy) -> Outcome:
        """:func:`~backendkit.auth._core.refresh.decide` in one transaction holding the family's row."""
        with self._locked() as conn:
            family = self._read(conn, family_id)
            was_spent = False
            if family is not None and family.revoked_at is None and presented not in (family.current, family.previous):
                found = conn.execute(self._sql.was_spent, {"digest": presented, "family_id": family_id})
                was_spent = found.first() is not None
            outcome = decide(family, presented, was_spent, rotation, now, policy)
            if outcome.family is not None and outcome.family is not family:
                self._write(conn, outcome.family)
            if outcome.spent is not None:
                conn.execute(self._sql.keep_spent, {"digest": outcome.spent, "family_id": family_id, "spent_at": now})
            return outcome

    def revoke(self, family_id: str, now: float, policy: RefreshPolicy) -> Family | None:
        """Revoke the family (a logout); the family as it is now, or ``None`` when unknown."""
        with self._locked() as conn:
            family = self._read(conn, family_id)
            if family is None:
                return None
            revoked = family.revoked(now)
            self._write(conn, revoked)
            return revoked

    def families(self, subject: str) -> list[str]:
        """The ids of ``subject``'s families kept (ended ones go at the next login, or :meth:`prune`)."""
        with self._reading() as conn:
            return [row.id for row in conn.execute(self._sql.listed, {"subject": subject})]

    def get(self, family_id: str) -> Family | None:
        """The family as kept, or ``None`` (for a list of a user's sessions, and for tests)."""
        with self._reading() as conn:
            return self._read(conn, family_id, lock=False)

    def prune(self, now: float) -> int:
        """Delete the families ended by ``now`` and their spent digests (a periodic job may call it); how many."""
        with self._locked() as conn:
            return self._prune(conn, now)

    # The parts.

    def _read(self, conn: Connection, family_id: str, *, lock: bool = True) -> Family | None:
        row = conn.execute(self._sql.locked if lock else self._sql.read, {"family_id": family_id}).first()
        return None if row is None else Family.from_dict(json.loads(row.state))

    def _write(self, conn: Connection, family: Family) -> None:
        values = {"family_id": family.id, "new_state": _state(family), "new_revoked_at": family.revoked_at}
        conn.execute(self._sql.write, values)

    def _prune(self, conn: Connection, now: float) -> int:
        conn.execute(self._sql.prune_spent, {"now": now})
        return conn.execute(self._sql.prune_families, {"now": now}).rowcount

    @contextmanager
    def _wrapped(self) -> Iterator[None]:
        try:
            yield
        except _FAILURES as exc:
            raise _unavailable(exc) from None  # (the driver's error names digests in its parameters)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection to read on; on a connection the threads share, once no write holds it."""
        queue = self._lock if self._shared and self._lock is not None else nullcontext()
        with queue, self._wrapped(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _locked(self) -> Iterator[Connection]:
        """A connection in a transaction that may write, committed at the end (rolled back on an error)."""
        if self._lock is None:
            # READ COMMITTED whatever the engine's own level: in AUTOCOMMIT the row lock would end with its
            # statement, and under REPEATABLE READ a second concurrent rotation fails instead of waiting.
            with self._wrapped(), self.engine.connect() as plain:
                conn = plain.execution_options(isolation_level="READ COMMITTED")
                with conn.begin():
                    yield conn
            return
        # SQLite: the write lock from the start (BEGIN IMMEDIATE), so two processes never both read and then
        # both wait to write (a deadlock SQLite answers "database is locked"). pysqlite would begin on its own,
        # later: the connection is put in autocommit mode and the transaction is this store's.
        with self._lock, self._wrapped(), self.engine.connect() as plain:
            conn = plain.execution_options(isolation_level="AUTOCOMMIT")
            driver = conn.connection.dbapi_connection
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.exec_driver_sql("COMMIT")
            except BaseException:
                if getattr(driver, "in_transaction", True):  # (a COMMIT that failed may leave it open)
                    conn.exec_driver_sql("ROLLBACK")
                raise


class _Statements:
    """The store's statements, built once: a statement object caches its compiled form (a rotation runs three)."""

    def __init__(self, families: Table, spent: Table) -> None:
        family_id: BindParameter[str] = bindparam("family_id")
        self.read = select(families.c.state).where(families.c.id == family_id)
        self.locked = self.read.with_for_update()  # (nothing on SQLite: the transaction holds the database)
        self.write = (
            update(families)
            .where(families.c.id == family_id)
            .values(state=bindparam("new_state"), revoked_at=bindparam("new_revoked_at"))
        )
        self.was_spent = select(spent.c.digest).where(
            spent.c.digest == bindparam("digest"), spent.c.family_id == family_id
        )
        self.keep_spent = insert(spent)
        self.add_family = insert(families)
        self.listed = (
            select(families.c.id)
            .where(families.c.subject == bindparam("subject"))
            .order_by(families.c.created_at, families.c.id)
        )
        ended = families.c.ends_at <= bindparam("now")
        self.prune_spent = delete(spent).where(spent.c.family_id.in_(select(families.c.id).where(ended)))
        self.prune_families = delete(families).where(ended)


def _bound_waits(engine: Engine, timeout: float) -> None:
    """Each new PostgreSQL connection of ``engine`` waits at most ``timeout`` for a lock or a statement."""
    milliseconds = max(1, math.ceil(timeout * 1000))

    @event.listens_for(engine, "connect")
    def _bounded(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET lock_timeout = {milliseconds}")
        cursor.execute(f"SET statement_timeout = {milliseconds}")
        cursor.close()
        dbapi_connection.commit()  # (a SET in a transaction rolled back would be undone)


__all__ = ["DEFAULT_SQL_TIMEOUT", "DEFAULT_TABLE_PREFIX", "SQLRefreshStore", "refresh_tables"]
