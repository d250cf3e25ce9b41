"""Fixtures shared by the whole suite."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import Schema, own_schema
from tests.support.postgres import required as postgres_required
from tests.support.postgres import server_url as postgres_url
from tests.support.redis import RedisCluster, RedisServer, redis_binary, start_cluster, start_redis

# The test Django app's models import only once Django is set up (by the fixture below); the credentials
# test project's modules only under its own settings, in the processes that use them.
collect_ignore_glob = ["pagination/djangoapp/*"]
if os.environ.get("DJANGO_SETTINGS_MODULE") != "tests.django.credentials_project.settings":
    collect_ignore_glob.append("django/credentials_project/*")


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A Redis Cluster of three primaries on free loopback ports, from the same redis-server binary."""
    cluster = start_cluster(redis_binary())
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of this test session's own on a free loopback port.

    Skips when no redis-server binary is on PATH, unless BACKENDKIT_REQUIRE_REDIS=1
    (as in CI), which turns the skip into a failure.
    """
    server = start_redis(redis_binary())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _django_setup() -> Iterator[None]:
    import django
    from django.conf import settings
    from django.db import connections

    django.setup()
    yield
    connections.close_all()
    sqlite_file = settings.DATABASES.get("default", {}).get("NAME")
    if isinstance(sqlite_file, str) and os.path.exists(sqlite_file):
        os.remove(sqlite_file)


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[Schema]:
    """A schema of this session's own on the local PostgreSQL server, dropped at the end."""
    url = postgres_url()
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=5).close()
    except Exception as exc:
        message = f"PostgreSQL at {url} is not reachable ({exc})"
        if postgres_required():
            pytest.fail(f"BACKENDKIT_REQUIRE_POSTGRES is set but {message}")
        pytest.skip(message)
    with own_schema(url) as schema:
        yield schema


@pytest.fixture
def collected() -> None:
    """The garbage of earlier tests collected now, for a test that records warnings (``pytest.warns``).

    Starlette 0.37's TestClient (the lowest version CI tests) leaves anyio memory streams
    unclosed when an app's lifespan fails; the collector finalizes them whenever it runs,
    and their ResourceWarning, landing inside a ``pytest.warns`` block, failed that block.
    """
    gc.collect()
