"""SQL as the driver sends it: statements and round trips, counted below every ORM, on SQLite and PostgreSQL.

An ORM's own count (SQLAlchemy's ``before_cursor_execute``, Django's ``CaptureQueriesContext``) misses what
the driver sends by itself: psycopg's ``BEGIN`` before the first statement of a transaction and the
``ROLLBACK`` when a pool takes a connection back; the ``BEGIN`` Python's sqlite3 module issues before a
write. ``Wire`` counts under them:

- PostgreSQL (psycopg 3): libpq's protocol trace of each connection, read when the block ends. A round
  trip is a wait for the server, which ends with its ``ReadyForQuery``; a statement is a simple ``Query``
  or a ``Parse`` of the extended protocol (named by its first word: ``SELECT``, ``BEGIN``...).
- SQLite: each statement the library runs (``set_trace_callback``); there is no round trip in process,
  so none is counted.

Connections are adopted as they are made: SQLAlchemy's pools (``Wire.sqlalchemy()``, every pool, from
the moment it is called) and Django's (``Wire.django()``, the ``connection_created`` signal). Tracing is
on only inside ``Wire.count()``: the timed loops run untraced.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sent:
    """What the drivers sent inside one ``Wire.count()`` block."""

    statements: Counter[str] = field(default_factory=Counter)  # by first word, upper case
    round_trips: int = 0  # PostgreSQL only (SQLite runs in process)

    def total(self) -> int:
        return sum(self.statements.values())

    def shown(self, per: int = 1) -> str:
        """``BEGIN 1, SELECT 1, ROLLBACK 1`` (per ``per`` operations), in the order first sent."""
        return ", ".join(f"{word} {count / per:g}" for word, count in self.statements.items())


def _first_word(sql: str) -> str:
    words = sql.strip().lstrip("(").split(None, 1)
    return words[0].upper().strip('";') if words else "?"


class Wire:
    """The database connections a benchmark makes, and what they send inside :meth:`count`."""

    def __init__(self) -> None:
        self._connections: list[Any] = []  # (sqlite3's cannot be weakly referenced; a run's few stay open anyway)
        self._prepared: dict[int, dict[str, str]] = {}  # per PostgreSQL connection: statement name → first word

    # Adopting connections.

    def adopt(self, dbapi_connection: Any) -> None:
        """Count what this DB-API connection (sqlite3 or psycopg) sends from now on."""
        if not any(dbapi_connection is known for known in self._connections):
            self._connections.append(dbapi_connection)

    def sqlalchemy(self) -> None:
        """Adopt every connection a SQLAlchemy pool makes from now on."""
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        event.listen(Pool, "connect", lambda dbapi_connection, record: self.adopt(_raw(dbapi_connection)))

    def django(self) -> None:
        """Adopt every connection Django opens from now on."""
        from django.db.backends.signals import connection_created

        def created(sender: Any, connection: Any, **kwargs: Any) -> None:
            self.adopt(connection.connection)

        connection_created.connect(created, weak=False)

    # Counting.

    @contextlib.contextmanager
    def count(self) -> Iterator[Sent]:
        """What the adopted connections send inside the block (filled when it ends)."""
        sent = Sent()
        traced: list[tuple[Any, Any]] = []
        self._connections = [c for c in self._connections if not _closed(c)]
        for connection in self._connections:
            if isinstance(connection, sqlite3.Connection):
                connection.set_trace_callback(lambda sql: sent.statements.update([_first_word(sql)]))
                traced.append((connection, None))
            elif hasattr(connection, "pgconn"):
                from psycopg.pq import Trace

                log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115 (closed below)
                connection.pgconn.trace(os.dup(log.fileno()))  # (libpq closes nothing: a dup of our own)
                connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
                traced.append((connection, log))
        try:
            yield sent
        finally:
            for connection, log in traced:
                if log is None:
                    connection.set_trace_callback(None)
                    continue
                connection.pgconn.untrace()  # flushes libpq's buffer
                log.seek(0)
                self._read_trace(log, self._prepared.setdefault(id(connection), {}), sent)
                log.close()

    @staticmethod
    def _read_trace(log: Any, prepared: dict[str, str], sent: Sent) -> None:
        """Round trips and statements from libpq's trace (one message a line; a SQL text may span lines).

        A statement runs on a simple ``Query``, or on an ``Execute`` of the extended protocol, whose SQL
        its ``Parse`` gave (psycopg prepares a statement run 5 times: later runs send no ``Parse``, so
        the names are remembered across blocks; one prepared before any block is named ``prepared``).
        """
        bound = ""  # the statement the last Bind named
        for line in log:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or parts[0] not in ("F", "B"):
                continue
            who, message, text = parts[0], parts[2], parts[3] if len(parts) > 3 else ""
            quoted = text.split('"')  # '<space>"name" "sql..."': name quoted[1], sql quoted[3]
            if who == "B" and message == "ReadyForQuery":
                sent.round_trips += 1
            elif who == "F" and message == "Query":
                sent.statements[_first_word(quoted[1] if len(quoted) > 1 else "?")] += 1
            elif who == "F" and message == "Parse" and len(quoted) > 3:
                prepared[quoted[1]] = _first_word(quoted[3])
            elif who == "F" and message == "Bind" and len(quoted) > 3:
                bound = quoted[3]  # '"portal" "statement" ...'
            elif who == "F" and message == "Execute":
                sent.statements[prepared.get(bound, "prepared")] += 1


def _closed(connection: Any) -> bool:
    if isinstance(connection, sqlite3.Connection):
        try:
            connection.total_changes  # noqa: B018  (raises once closed)
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(getattr(connection, "closed", False))


def _raw(connection: Any) -> Any:
    """The driver's own connection under SQLAlchemy's adaptation, if any."""
    return getattr(connection, "driver_connection", connection)


__all__ = ["Sent", "Wire"]
