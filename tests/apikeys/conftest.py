"""The key stores the API key tests run on: memory, Redis (the session's redis-server), SQLite and PostgreSQL.

SQLite twice: a file (a pool of connections, one a thread) and ``sqlite://``, a database in
this process's memory, which is one connection the threads share.

``stores`` makes stores of one kind for a test (each with keys of its own: a
Redis prefix, a SQL table) and cleans up after it; it also makes them die, the
way each dies in production: Redis and PostgreSQL behind a forwarder that is
closed (the port refuses, the connections are cut), SQLite locked by another
writer.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from backendkit.apikeys import KeyStore, MemoryKeyStore
from tests.support.forward import Forwarder
from tests.support.net import free_port

KINDS = ["memory", pytest.param("redis", marks=pytest.mark.redis), "sqlite", "sqlite-memory", "postgresql"]
SHARED = [pytest.param("redis", marks=pytest.mark.redis), "sqlite", "postgresql"]  # stores that can fail
REMOTE = [pytest.param("redis", marks=pytest.mark.redis), "postgresql"]  # stores behind a port


class Stores:
    """Stores of one kind for one test."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.kind = kind
        self.request = request
        self.tag = uuid.uuid4().hex[:10]
        self.path = tmp_path / "keys.db"
        self._cleanups: list[Callable[[], None]] = []

    @property
    def url(self) -> str:
        """Where this kind's data is: a Redis URL, or a SQLAlchemy URL."""
        if self.kind == "redis":
            url: str = self.request.getfixturevalue("redis_server").url
            return url
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        if self.kind == "sqlite-memory":  # (a store of its own each time: a second one holds other data)
            return "sqlite://"
        schema = self.request.getfixturevalue("postgres_schema")
        return f"{schema.sqlalchemy_url()}?options=-csearch_path%3D{schema.name}"

    def options(self) -> dict[str, Any]:
        """The options that give a store this test's own keys."""
        if self.kind == "redis":
            return {"prefix": f"test:{self.tag}:"}
        return {"table_name": f"keys_{self.tag}"} if self.kind == "postgresql" else {}

    def make(self, url: str | None = None, *, mixin: type | None = None, **options: Any) -> KeyStore:
        """A store of this kind on this test's keys (``url``: the same data reached another way).

        ``mixin``: a class put before the store's own, for a store of a subclass (a test's hooks in it).
        """
        if self.kind == "memory":
            return _subclass(MemoryKeyStore, mixin)()
        options = {**self.options(), **options}
        if self.kind == "redis":
            from backendkit.apikeys.redis import RedisKeyStore

            store: Any = _subclass(RedisKeyStore, mixin).from_url(url or self.url, **options)
        else:
            from backendkit.apikeys.sqlalchemy import SQLKeyStore

            store = _subclass(SQLKeyStore, mixin).from_url(url or self.url, create=url is None, **options)
        self._cleanups.append(store.close)
        if self.kind == "postgresql" and url is None:  # (cleanups run last first: dropped, then closed)
            self._cleanups.append(lambda: store.table.drop(store.engine, checkfirst=True))
        made: KeyStore = store
        return made

    def dying(self, **options: Any) -> tuple[KeyStore, Callable[[], None]]:
        """A store that works, and the function that makes it fail from then on."""
        if self.kind == "sqlite":
            store = self.make(timeout=0.2, **options)

            def lock() -> None:  # another writer holds the database: reads wait 0.2 s, then fail
                holder = sqlite3.connect(self.path, isolation_level=None)
                holder.execute("BEGIN EXCLUSIVE")
                self._cleanups.insert(0, holder.close)

            return store, lock
        self.make(**options)  # the data's home (a PostgreSQL table), made directly
        parsed = make_url(self.url) if self.kind == "postgresql" else None
        port = parsed.port if parsed is not None else self.request.getfixturevalue("redis_server").port
        forward = Forwarder(port or 5432)
        self._cleanups.append(forward.close)
        if parsed is not None:
            url = parsed.set(port=forward.port).render_as_string(hide_password=False)
        else:
            url = f"redis://127.0.0.1:{forward.port}/0"
        return self.make(url, **options), forward.close

    def dead(self, **options: Any) -> KeyStore:
        """A store whose server is not there: nothing listens on its port."""
        port = free_port()
        if self.kind == "redis":
            return self.make(f"redis://127.0.0.1:{port}/0", **options)
        return self.make(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test", **options)

    def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            cleanup()


def _subclass(base: type[Any], mixin: type | None) -> type[Any]:
    return base if mixin is None else type(f"{mixin.__name__}{base.__name__}", (mixin, base), {})


@pytest.fixture
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    made = Stores(request.param, request, tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def store(stores: Stores) -> KeyStore:
    """One store of the kind the test is parametrised with."""
    return stores.make()
