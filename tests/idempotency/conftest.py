"""A redis-server of a test's own, for the tests that stop it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis import RedisServer, find_redis_server, start_redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    binary = find_redis_server()
    if binary is None:
        pytest.fail("redis-server is not on PATH")
    server = start_redis(binary)
    try:
        yield server
    finally:
        server.stop()
