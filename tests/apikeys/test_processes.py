"""Two worker processes sharing one redis-server: a key made in one works in the other; revoked in one, it is
refused in the other within the other's ``cache_ttl``, and at once in the one that revoked it.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.apikeys.workers import serve
from tests.support.redis import RedisServer

pytestmark = pytest.mark.redis
CACHE_TTL = 1.0
SLACK = 0.05  # between a worker's reading of its clock and its sending of the answer


class Worker:
    def __init__(self, context: Any, url: str, prefix: str) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(url, prefix, CACHE_TTL, child), daemon=True)
        self.process.start()

    def ask(self, command: str, argument: Any = None) -> Any:
        self.conn.send((command, argument))
        assert self.conn.poll(60), f"the worker did not answer {command!r}"
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send(("stop", None))
        self.process.join(timeout=30)
        assert self.process.exitcode == 0


@pytest.fixture
def workers(redis_server: RedisServer) -> Iterator[tuple[Worker, Worker]]:
    context = multiprocessing.get_context("spawn")
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    pair = (Worker(context, redis_server.url, prefix), Worker(context, redis_server.url, prefix))
    yield pair
    for worker in pair:
        worker.stop()


def test_a_key_made_in_one_process_works_and_is_revoked_in_the_other(workers: tuple[Worker, Worker]) -> None:
    maker, other = workers
    key, key_id = maker.ask("create", "alice")
    assert other.ask("verify", key) == ("ok", "alice")  # made elsewhere, read from the shared store
    assert maker.ask("verify", key) == ("ok", "alice")
    found, revoked_at = maker.ask("revoke", key_id)
    assert found is True
    assert maker.ask("verify", key) == ("refused", "revoked")  # at once where it was revoked
    timeline = other.ask("watch", key)
    last_time, last = timeline[-1]
    assert last == ("refused", "revoked")
    assert last_time <= revoked_at + CACHE_TTL + SLACK + 0.05  # seen within the other's ttl (+ its 10 ms polls)
    accepted_after = [when for when, result in timeline if result[0] == "ok"]
    assert all(when < revoked_at + CACHE_TTL + SLACK for when in accepted_after)  # never past the bound
    assert other.ask("verify", key) == ("refused", "revoked")
    assert maker.ask("verify", "bk_test_" + "x" * 62) == ("refused", "malformed")
