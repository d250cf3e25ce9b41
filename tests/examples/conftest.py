"""What the tests of the examples served by multi-worker servers share: a redis-server of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis import RedisServer, redis_binary, start_redis


@pytest.fixture
def fresh_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own: the limit of this host's address starts from nothing."""
    server = start_redis(redis_binary())
    try:
        yield server
    finally:
        server.stop()
