"""A burst on cold workers: admission stays exact while the store opens its connections.

FastAPI under ``uvicorn --workers 4`` with an ``AsyncRedisStore``, 500 concurrent
requests on one key right after start: each worker once opened about 100
connections at once, their handshakes missed the 0.25 s timeout on a busy loop,
and those checks failed open (139, 22 and 63 admitted against a limit of 20 on
three restarts). Warm workers admitted exactly 20.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import pytest

from tests.support.net import free_port
from tests.support.redis import RedisServer
from tests.support.servers import server_process

pytestmark = [pytest.mark.redis, pytest.mark.socket]

BURST = 500
LIMIT = 20


async def _status(port: int, client: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET /r HTTP/1.1\r\nHost: x\r\nX-Client: {client}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def _burst(port: int, client: str) -> list[int]:
    return list(await asyncio.gather(*(_status(port, client) for _ in range(BURST))))


@pytest.mark.parametrize("policy", ["sliding-window", "token-bucket"])
def test_a_burst_on_cold_workers_admits_exactly_the_limit(redis_server: RedisServer, policy: str) -> None:
    env = {"COLD_APP_REDIS_URL": redis_server.url, "COLD_APP_POLICY": policy}
    for start in range(3):
        port = free_port()
        args = [sys.executable, "-m", "uvicorn", "tests.ratelimit.cold_app:app", "--port", str(port)]
        args += ["--workers", "4", "--log-level", "warning"]
        with server_process(args, port, env=env):
            # The port answers as soon as the main process listens; the workers are still starting.
            statuses = asyncio.run(_burst(port, f"cold-{uuid.uuid4().hex}"))
        assert sorted(set(statuses)) == [200, 429], (start, sorted(set(statuses)))
        assert statuses.count(200) == LIMIT, (policy, start, statuses.count(200))
