"""The suite's own redis-server: started on a free port, really answering, not the shared 6379."""

from __future__ import annotations

import redis

from tests.support.redis import RedisServer


def test_fixture_starts_a_private_redis(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert redis_server.port != 6379
        assert client.ping() is True
        client.set("backendkit:fixture", "alive", ex=30)
        assert client.get("backendkit:fixture") == b"alive"
        info = client.info("server")
        assert int(info["tcp_port"]) == redis_server.port
        assert client.config_get("save") == {"save": ""}
    finally:
        client.close()
