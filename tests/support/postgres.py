"""A PostgreSQL schema of the test session's own on the local server, created and dropped by the fixture."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
# One schema per test process, named up front: Django's settings need the name before the fixture runs.
SESSION_SCHEMA = f"bk_test_{uuid.uuid4().hex[:12]}"


def django_database(schema: str = SESSION_SCHEMA) -> dict[str, object]:
    """A Django ``DATABASES`` entry for the local server, on ``schema``."""
    from urllib.parse import urlsplit

    parts = urlsplit(server_url())
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or 5432),
        "OPTIONS": {"options": f"-csearch_path={schema}"},
    }


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
def own_schema(url: str, name: str = SESSION_SCHEMA) -> Iterator[Schema]:
    """Create the schema ``name``, yield it, drop it with everything in it."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
    try:
        yield Schema(url, name)
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
