"""The databases the credential tests run on: this session's SQLite file and its PostgreSQL schema, migrated.

``default`` is the SQLite file of tests/django_settings.py, ``postgres`` the local server on the
session's own schema (the ``postgres_schema`` fixture makes it and drops it). The app's tables are
made by its migration, the way a project gets them, and emptied before each test.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

ALIASES = ("default", "postgres")
ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

_migrated: set[str] = set()


def database(request: pytest.FixtureRequest, alias: str) -> str:
    """``alias`` with the app's migrations applied (once a session) and its tables empty."""
    if alias == "postgres":
        request.getfixturevalue("postgres_schema")
    if alias not in _migrated:
        from django.core.management import call_command

        call_command("migrate", "backendkit_credentials", database=alias, verbosity=0)
        _migrated.add(alias)
    empty(alias)
    return alias


def empty(alias: str) -> None:
    from backendkit.django.credentials.models import APIKey, RefreshFamily, SpentRefreshToken

    for model in (SpentRefreshToken, RefreshFamily, APIKey):
        model.objects.using(alias).all().delete()


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run ``make()`` on a new event loop whose worker thread (``asyncio.to_thread``) is closed after.

    One thread, so a test knows which connection the stores used; its connections are
    closed in it at the end (Django keeps one per thread, and nothing else closes them).
    """
    from django.db import connections

    executor = ThreadPoolExecutor(max_workers=1)

    async def main() -> T:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(executor)
        try:
            return await make()
        finally:
            await loop.run_in_executor(None, connections.close_all)

    return asyncio.run(main())


@contextmanager
def extra_database(alias: str, entry: dict[str, Any]) -> Iterator[str]:
    """A database alias added for the length of a test (a dead server, another process's file)."""
    from django.db import connections

    connections.settings[alias] = connections.configure_settings({**connections.settings, alias: dict(entry)})[alias]
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]


def project_env(db: str, **extra: str) -> dict[str, str]:
    """The environment of a process of the test project (tests/django/credentials_project) on ``db``.

    ``db`` is ``sqlite:<path>`` or ``postgresql:<schema>`` (on the local server).
    """
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {
        **os.environ,
        "PYTHONPATH": path,
        "DJANGO_SETTINGS_MODULE": "tests.django.credentials_project.settings",
        "BK_CREDENTIALS_DB": db,
        **extra,
    }


PYTHON = sys.executable
