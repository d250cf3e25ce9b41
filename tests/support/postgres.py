"""A PostgreSQL schema of the test session's own on the local server, created and dropped by the fixture."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    """The server to use: ``BACKENDKIT_POSTGRES_URL`` or the machine's own (trust auth, database ``test``)."""
    return os.environ.get("BACKENDKIT_POSTGRES_URL", DEFAULT_URL)


def required() -> bool:
    return os.environ.get("BACKENDKIT_REQUIRE_POSTGRES", "") not in ("", "0")


@dataclass(frozen=True)
class Schema:
    """A schema on the server: ``url`` is the plain libpq URL, ``name`` the schema to put on the search path."""

    url: str
    name: str

    def sqlalchemy_url(self, *, driver: str = "psycopg") -> str:
        return self.url.replace("postgresql://", f"postgresql+{driver}://", 1)

    @property
    def options(self) -> str:
        """libpq ``options`` that make every connection use this schema first."""
        return f"-csearch_path={self.name}"


@contextmanager
def own_schema(url: str) -> Iterator[Schema]:
    """Create a uniquely named schema, yield it, drop it with everything in it."""
    import psycopg

    name = f"bk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield Schema(url, name)
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')
