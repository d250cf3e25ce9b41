"""API keys in a SQL database through SQLAlchemy Core: :class:`SQLKeyStore` and its table, :func:`key_table`.

One row per key; ``id`` is the primary key and ``owner`` is indexed (a list by
owner reads the index). Times are seconds since the epoch (``DOUBLE PRECISION``),
roles and scopes their names joined by commas (a name holds none). Each
operation but ``rotate`` is one statement, committed on its own (the connection in
autocommit): one round trip, and atomic without a lock (but on one SQLite connection
the threads share, ``sqlite://``: there every operation waits for a rotation's
transaction to end, on the store's lock, rather than run inside it). A change sets only its own
columns, in the statement itself, never from a row read earlier:

- ``revoke``: ``SET revoked_at = COALESCE(revoked_at, :now)``: the first revocation's time stays;
- ``rotate``: ``SET rotated_to = :to, expires_at = CASE WHEN expires_at IS NULL OR expires_at > :until
  THEN :until ELSE expires_at END WHERE id = :old AND rotated_to IS NULL AND revoked_at IS NULL``, then the
  successor's ``INSERT``, in one transaction: rotation never lengthens a key's life, leaves ``revoked_at``
  alone, happens once, and never to a revoked key. The ``UPDATE`` holds the old key's row (PostgreSQL) or
  the database's write lock (SQLite, taken at ``BEGIN IMMEDIATE``); a second rotation, or one behind a
  revocation, waits for it, then changes no row, inserts nothing, and reads whom the key was rotated to
  and whether it is revoked. PostgreSQL's default isolation, READ COMMITTED, is the one used;
- ``touch``: ``SET last_used_at = :now``.

Each answers whether the key exists by the number of rows it changed.

A driver's failure (a database that is down, refuses the connection, or times out)
raises :class:`~backendkit.stores.StoreUnavailable`, the verifier's outage policy
deciding the answer. A pooled connection the database closed meanwhile (a restart)
is tried once more on a fresh one, as the Redis stores do: every statement here
is safe to repeat.
"""

from __future__ import annotations

import builtins
import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from backendkit._extras import require
from backendkit.apikeys._core.record import KeyIdTaken, KeyRecord, RotationRefused, rotation_refused
from backendkit.errors import ConfigurationError
from backendkit.stores import OnStoreError, StoreUnavailable
from backendkit.stores._core import check_on_store_error

require("sqlalchemy", extra="sqlalchemy", module="backendkit.apikeys.sqlalchemy")

from sqlalchemy import (  # noqa: E402  (after the extra check, which names the extra to install)
    Column,
    Connection,
    Double,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    case,
    create_engine,
    func,
    insert,
    inspect,
    make_url,
    or_,
    select,
    update,
)
from sqlalchemy import exc as sa_exc  # noqa: E402
from sqlalchemy.engine import Row  # noqa: E402
from sqlalchemy.pool import StaticPool  # noqa: E402

DEFAULT_TABLE = "backendkit_api_keys"
DEFAULT_TIMEOUT = 5.0
"""Seconds :meth:`SQLKeyStore.from_url`'s engine waits to connect (and SQLite for a lock, a pool for a connection)."""
OWNER_LENGTH = 255
_T = TypeVar("_T")
_FAILURES = (sa_exc.DBAPIError, sa_exc.DisconnectionError, sa_exc.TimeoutError, OSError)


def key_table(metadata: MetaData, name: str = DEFAULT_TABLE) -> Table:
    """The table of API keys on ``metadata``: the one defined there already under ``name``, or a new one.

    Define it on your models' ``MetaData`` and Alembic's autogenerate sees it::

        api_keys = key_table(Base.metadata)
        store = SQLKeyStore(engine, metadata=Base.metadata)  # the same table

    Example:
        >>> table = key_table(MetaData())
        >>> [column.name for column in table.primary_key], [index.name for index in table.indexes]
        (['id'], ['ix_backendkit_api_keys_owner'])
    """
    held = metadata.tables.get(name if metadata.schema is None else f"{metadata.schema}.{name}")
    if held is not None:
        return held
    return Table(
        name,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("digest", String(64), nullable=False),
        Column("owner", String(OWNER_LENGTH), nullable=False, index=True),
        Column("name", String(200), nullable=False),
        Column("roles", Text, nullable=False),
        Column("scopes", Text, nullable=False),
        Column("created_at", Double, nullable=False),
        Column("expires_at", Double),
        Column("last_used_at", Double),
        Column("revoked_at", Double),
        Column("rotated_to", String(32)),
        Column("prefix", String(32), nullable=False),
    )


# libpq's PQTRANS_INTRANS and PQTRANS_INERROR: psycopg's and psycopg2's connection.info.transaction_status.
_LIBPQ_IN_TRANSACTION = (2, 3)


def _explicit(conn: Connection, begin: str, work: Callable[[Connection], _T]) -> _T:
    """``work`` between ``begin`` and ``COMMIT`` sent on an autocommit connection; ``ROLLBACK`` if it fails."""
    driver = conn.connection.dbapi_connection
    conn.exec_driver_sql(begin)
    try:
        done = work(conn)
        conn.exec_driver_sql("COMMIT")
    except BaseException:
        if _open(driver):  # (a COMMIT that failed may leave it open)
            conn.exec_driver_sql("ROLLBACK")
        raise
    return done


def _open(driver: Any) -> bool:
    """Whether the driver's connection is inside a transaction (when it cannot say: assume it is)."""
    info = getattr(driver, "info", None)
    status = getattr(info, "transaction_status", None)
    if status is not None:
        return int(status) in _LIBPQ_IN_TRANSACTION
    return bool(getattr(driver, "in_transaction", True))


def _row(record: KeyRecord) -> dict[str, Any]:
    row = record.to_dict()
    row["roles"] = ",".join(record.roles)  # (a name holds no comma: KeyRecord refuses one)
    row["scopes"] = ",".join(record.scopes)
    return row


def _record(row: Row[Any] | None) -> KeyRecord | None:
    if row is None:
        return None
    data = dict(row._mapping)
    for field in ("roles", "scopes"):
        data[field] = tuple(data[field].split(",")) if data[field] else ()
    return KeyRecord.from_dict(data)


def _unavailable(error: BaseException) -> StoreUnavailable:
    cause = getattr(error, "orig", None) or error  # the driver's words, never the statement and its parameters
    lines = str(cause).strip().splitlines()
    return StoreUnavailable(f"sql: {type(cause).__name__}: {lines[0] if lines else ''}")


class SQLKeyStore:
    """API key records in a SQL table (SQLite, PostgreSQL...): every process on the database sees the same keys.

    Args:
        engine_or_url: A sync SQLAlchemy ``Engine`` (yours: :meth:`close` leaves it open), or a URL
            (``sqlite:///keys.db``, ``postgresql+psycopg://...``) for an engine of the store's own.
        table_name: The table's name.
        metadata: The ``MetaData`` the table is defined on (your models', so that Alembic sees it);
            a table of that name defined on it already (:func:`key_table`) is used as it is.
        create: Create the table now when it is missing (else your migration makes it).
        on_store_error: The policy a verifier applies to this store when it is not given one:
            ``"closed"`` (a 503 when a key must be read and the database cannot answer) or
            ``"open"`` (keys in the verifier's cache keep working).

    Example:
        >>> store = SQLKeyStore("sqlite://", create=True)
        >>> store.add(KeyRecord(id="k1", digest="00", owner="alice", roles=("viewer",)))
        >>> store.revoke("k1", now=10.0), store.get("k1").roles, store.get("k1").revoked_at
        (True, ('viewer',), 10.0)
        >>> store.close()
    """

    store_name = "the SQL API key store"  # in the verifier's outage log lines

    def __init__(
        self,
        engine_or_url: Engine | str,
        *,
        table_name: str = DEFAULT_TABLE,
        metadata: MetaData | None = None,
        create: bool = False,
        on_store_error: OnStoreError = "closed",
    ) -> None:
        if isinstance(engine_or_url, str):
            engine = _engine(engine_or_url, DEFAULT_TIMEOUT)
        elif isinstance(engine_or_url, Engine):
            engine = engine_or_url
        else:
            raise ConfigurationError(
                f"SQLKeyStore takes a sync SQLAlchemy Engine or a URL, not {engine_or_url!r} "
                f"(async code gets a sync store too: the verifier reads it in a worker thread)"
            )
        self._owned = engine is not engine_or_url
        self.engine = engine
        # Each statement commits on its own: no BEGIN and COMMIT around it, one round trip. An engine of
        # the store's own is in autocommit from each connection's start; one you give is switched to it
        # at each checkout and back at each checkin (a statement more, on SQLite).
        self._autocommit = engine if self._owned else engine.execution_options(isolation_level="AUTOCOMMIT")
        self.metadata = MetaData() if metadata is None else metadata
        self.table = key_table(self.metadata, table_name)
        # The request path's read (a verifier's miss), built once: building it per call cost a third of it.
        self._by_id = select(self.table).where(self.table.c.id == bindparam("key_id"))
        self.on_store_error = check_on_store_error(on_store_error)
        # SQLite has no row locks: a rotation holds the database (BEGIN IMMEDIATE), and rotations in this
        # process take turns before that, on this lock. On one connection shared by the threads (a StaticPool:
        # ``sqlite://``, an in-memory database) every operation takes it: a statement sent meanwhile would run
        # inside the rotation's transaction, and the connection's return to the pool would roll that back.
        self._sqlite = engine.dialect.name == "sqlite"
        self._postgres = engine.dialect.name == "postgresql"
        self._shared = self._sqlite and isinstance(engine.pool, StaticPool)
        self._sqlite_lock = threading.Lock()
        if create:
            self._create()

    @classmethod
    def from_url(
        cls, url: str, *, create: bool = False, timeout: float = DEFAULT_TIMEOUT, **options: Any
    ) -> SQLKeyStore:
        """A store on an engine of its own for ``url``, which waits at most ``timeout`` seconds to connect.

        ``options`` are the constructor's: ``table_name``, ``metadata``, ``on_store_error``.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
            raise ConfigurationError(f"timeout is a positive number of seconds, not {timeout!r}")
        engine = _engine(url, float(timeout))
        store = cls(engine, **options)
        store._owned, store._autocommit = True, engine
        if create:
            store._create()
        return store

    def close(self) -> None:
        """Close the connections of an engine the store made (never an engine you gave it)."""
        if self._owned:
            self.engine.dispose()

    def _create(self) -> None:
        try:
            self._run(lambda conn: self.table.create(conn, checkfirst=True))
        except StoreUnavailable:  # another process may have made it meanwhile ("already exists")
            if not self._run(lambda conn: inspect(conn).has_table(self.table.name, schema=self.table.schema)):
                raise

    def _run(self, work: Callable[[Connection], _T], *, exclusive: bool = False) -> _T:
        """``work`` on a connection of the pool; a driver's failure as StoreUnavailable (one retry if stale).

        Under the store's lock when ``work`` holds a transaction on SQLite (``exclusive``), and for all work
        on a connection the threads share.
        """
        if self._shared or (exclusive and self._sqlite):
            with self._sqlite_lock:
                return self._attempts(work)
        return self._attempts(work)

    def _attempts(self, work: Callable[[Connection], _T]) -> _T:
        retried = False
        while True:
            try:
                with self._autocommit.connect() as conn:
                    return work(conn)
            except sa_exc.IntegrityError:
                raise
            except sa_exc.DBAPIError as error:
                if error.connection_invalidated and not retried:  # closed by the database since: a fresh one
                    retried = True
                    continue
                raise _unavailable(error) from None  # (the driver's error names the digest in its parameters)
            except _FAILURES as error:
                raise _unavailable(error) from None  # (the driver's error names the digest in its parameters)

    def add(self, record: KeyRecord) -> None:
        """Keep a new record: one ``INSERT`` (``KeyIdTaken`` when its id is taken)."""
        if len(record.owner) > OWNER_LENGTH:
            raise ValueError(f"a key's owner is at most {OWNER_LENGTH} characters in a SQL store")
        try:
            self._run(lambda conn: conn.execute(insert(self.table).values(**_row(record))))
        except sa_exc.IntegrityError:
            raise KeyIdTaken(f"key id {record.id!r} is taken") from None

    def get(self, key_id: str) -> KeyRecord | None:
        """The record of ``key_id``, or ``None``: one ``SELECT`` by primary key."""
        return _record(self._run(lambda conn: conn.execute(self._by_id, {"key_id": key_id}).first()))

    def list(self, owner: str | None = None) -> builtins.list[KeyRecord]:
        """Every record (of ``owner``), oldest first: one ``SELECT``."""
        query = select(self.table).order_by(self.table.c.created_at, self.table.c.id)
        if owner is not None:
            query = query.where(self.table.c.owner == owner)
        rows = self._run(lambda conn: conn.execute(query).all())
        return [record for record in map(_record, rows) if record is not None]

    def _update(self, key_id: str, **values: Any) -> bool:
        statement = update(self.table).where(self.table.c.id == key_id).values(**values)
        return bool(self._run(lambda conn: conn.execute(statement).rowcount))

    def revoke(self, key_id: str, now: float) -> bool:
        """Set ``revoked_at`` unless it is set; whether the key exists. One ``UPDATE``."""
        return self._update(key_id, revoked_at=func.coalesce(self.table.c.revoked_at, float(now)))

    def rotate(self, key_id: str, successor: KeyRecord, until: float) -> str | RotationRefused | None:
        """Keep ``successor`` and retire ``key_id`` for it unless it is rotated already or revoked.

        One transaction: a conditional ``UPDATE``, then the ``INSERT`` when it changed the row, or a
        ``SELECT`` of ``rotated_to`` and ``revoked_at`` when it did not
        (:meth:`~backendkit.apikeys.KeyStore.rotate` says what it answers).
        """
        if len(successor.owner) > OWNER_LENGTH:
            raise ValueError(f"a key's owner is at most {OWNER_LENGTH} characters in a SQL store")
        table = self.table
        expires = table.c.expires_at
        sooner = case((or_(expires.is_(None), expires > float(until)), float(until)), else_=expires)
        retire = (
            update(table)
            .where(table.c.id == key_id, table.c.rotated_to.is_(None), table.c.revoked_at.is_(None))
            .values(rotated_to=successor.id, expires_at=sooner)
        )
        keep = insert(table).values(**_row(successor))
        state = select(table.c.rotated_to, table.c.revoked_at).where(table.c.id == key_id)

        def work(conn: Connection) -> str | RotationRefused | None:
            if conn.execute(retire).rowcount:
                conn.execute(keep)
                return successor.id
            # Lost to another rotation, revoked meanwhile, or no such key (or, sent again, won already by this
            # very call). Both fields are only ever set, so the row read now holds what made the UPDATE miss.
            row = conn.execute(state).first()
            return None if row is None else rotation_refused(row.rotated_to, row.revoked_at)

        try:
            return self._run(lambda conn: self._in_transaction(conn, work), exclusive=True)
        except sa_exc.IntegrityError:
            raise KeyIdTaken(f"key id {successor.id!r} is taken") from None

    def _in_transaction(self, conn: Connection, work: Callable[[Connection], _T]) -> _T:
        """``work`` in one transaction on ``conn`` (in autocommit until then): committed, or rolled back."""
        if self._postgres:
            # An explicit BEGIN on the autocommit connection. Switching the connection's level instead
            # (execution_options) left it out of autocommit once back in the pool on SQLAlchemy 2.0.0, whose
            # reset went to the server's level: its next statements, never committed, were rolled back (a
            # revocation answered True, then lost).
            return _explicit(conn, "BEGIN ISOLATION LEVEL READ COMMITTED", work)
        if self._sqlite:
            # pysqlite would begin on its own, deferred: the transaction is ours, with the write lock from its
            # start. (The caller holds the store's lock: see _run.)
            return _explicit(conn, "BEGIN IMMEDIATE", work)
        conn.execution_options(isolation_level="READ COMMITTED")  # until the connection goes back to the pool
        with conn.begin():
            return work(conn)

    def touch(self, key_id: str, now: float) -> None:
        """Set ``last_used_at`` (nothing when the key is gone). One ``UPDATE``."""
        self._update(key_id, last_used_at=float(now))


def _engine(url: str, timeout: float) -> Engine:
    """An engine for ``url`` in autocommit, whose waits are bounded by ``timeout`` where its driver allows."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError as error:
        raise ConfigurationError(f"not a SQLAlchemy URL: {url!r}") from error
    options: dict[str, Any] = {"hide_parameters": True}  # digests stay out of SQLAlchemy's error text
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        connect_args["timeout"] = timeout  # how long a write waits for another's lock
        if parsed.database in (None, "", ":memory:"):  # one database for every thread, not one each
            connect_args["check_same_thread"] = False
            options["poolclass"] = StaticPool
    else:
        options["pool_timeout"] = timeout
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg", "psycopg2"):
            connect_args["connect_timeout"] = max(2, math.ceil(timeout))  # (libpq's least)
    try:
        return create_engine(parsed, connect_args=connect_args, isolation_level="AUTOCOMMIT", **options)
    except (ImportError, sa_exc.ArgumentError) as error:  # a driver not installed, an option it refuses
        raise ConfigurationError(f"cannot open {parsed.render_as_string()}: {error}") from error


__all__ = ["DEFAULT_TABLE", "DEFAULT_TIMEOUT", "OWNER_LENGTH", "SQLKeyStore", "key_table"]
