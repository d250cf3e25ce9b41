"""Exactly once, with real processes and a real Redis: concurrent retries, a dead worker, a stopped Redis.

50 identical requests with one key, sent at once and spread over 4 server processes
(each on its own port) that share the test's redis-server, run the handler once (counted in Redis by the handler);
every other answer is the replay or a 409. A worker killed while it holds a key
frees it after the lock's TTL. The apps are in ``exactly_once_app.py``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager

import pytest
import redis

from tests.support.net import Reply, free_port, request
from tests.support.redis import RedisServer
from tests.support.servers import server_process

pytestmark = [pytest.mark.redis, pytest.mark.socket]
CLIENTS = 50
PROCESSES = 4
APP = "tests.idempotency.exactly_once_app"


def gunicorn_server(env: dict[str, str], workers: int = 1) -> AbstractContextManager[int]:
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", f"{APP}:flask_app", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", str(workers), "--threads", "8", "--graceful-timeout", "1"]
    return server_process(args, port, env=env)


def uvicorn_server(env: dict[str, str]) -> AbstractContextManager[int]:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", f"{APP}:fastapi_app", "--port", str(port), "--log-level", "warning"]
    return server_process(args, port, env=env)


SERVERS: dict[str, Callable[[dict[str, str]], AbstractContextManager[int]]] = {
    "flask-gunicorn": gunicorn_server,
    "fastapi-uvicorn": uvicorn_server,
}


@contextmanager
def processes(server: str, env: dict[str, str]) -> Iterator[list[int]]:
    """``PROCESSES`` servers of one kind, each on its own port, sharing the Redis in ``env``."""
    with ExitStack() as stack:
        yield [stack.enter_context(SERVERS[server](env)) for _ in range(PROCESSES)]


@pytest.fixture
def counter(redis_server: RedisServer) -> Iterator[tuple[dict[str, str], redis.Redis]]:
    key = f"idempotency-test:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        yield {"IDEMPOTENCY_TEST_REDIS": redis_server.url, "IDEMPOTENCY_TEST_COUNTER": key}, client
    finally:
        client.delete(key, key + ":hung")
        client.close()


def pay(port: int, key: str, path: str = "/pay") -> Reply:
    headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
    return request(port, "POST", path, headers=headers, body=b'{"eur": 5}')


@pytest.mark.parametrize("server", list(SERVERS))
def test_fifty_concurrent_retries_over_four_processes_run_the_handler_once(
    server: str, counter: tuple[dict[str, str], redis.Redis]
) -> None:
    env, client = counter
    with processes(server, env) as ports:
        key = uuid.uuid4().hex
        with ThreadPoolExecutor(CLIENTS) as pool:  # spread over the processes, all at once
            replies = list(pool.map(lambda n: pay(ports[n % PROCESSES], key), range(CLIENTS)))
        settled = [pay(port, key) for port in ports]  # once the first has finished: the replay everywhere
    assert int(client.get(env["IDEMPOTENCY_TEST_COUNTER"]) or 0) == 1  # the handler ran once
    firsts = [r for r in replies if r.status == 201 and "idempotent-replayed" not in r.headers]
    replays = [r for r in replies if r.status == 201 and r.headers.get("idempotent-replayed") == "true"]
    busy = [r for r in replies if r.status == 409]
    assert len(firsts) == 1
    assert len(firsts) + len(replays) + len(busy) == CLIENTS, {r.status for r in replies}
    assert all(json.loads(r.body)["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE" for r in busy)
    assert all(r.headers["retry-after"] == "1" for r in busy)
    assert all(r.body == firsts[0].body for r in replays)
    assert {(r.status, r.body, r.headers["idempotent-replayed"]) for r in settled} == {(201, firsts[0].body, "true")}
    served_by = {r.headers["x-served-by"] for r in replies}
    assert len(served_by) == PROCESSES
    print(f"{server}: 1 run, {len(replays)} replays, {len(busy)} in use, over {len(served_by)} processes")


def test_a_worker_killed_holding_a_key_frees_it_after_the_lock_ttl(
    counter: tuple[dict[str, str], redis.Redis],
) -> None:
    env, client = counter
    runs = env["IDEMPOTENCY_TEST_COUNTER"] + ":hung"
    with gunicorn_server(env, workers=2) as port, ThreadPoolExecutor(1) as pool:
        key = uuid.uuid4().hex
        pending = pool.submit(pay, port, key, "/hang")
        deadline = time.monotonic() + 10
        while client.llen(runs) == 0:
            assert time.monotonic() < deadline, "the handler never started"
            time.sleep(0.02)
        holder = int(client.lindex(runs, 0))  # type: ignore[arg-type]
        os.kill(holder, signal.SIGKILL)  # the worker dies holding the key
        with pytest.raises(OSError, match=r"closed|reset|aborted|Remote end"):  # (its client sees the drop)
            pending.result(timeout=10)
        answers = [pay(port, key, "/hang")]  # at once: the key is still taken
        while answers[-1].status == 409 and time.monotonic() < deadline + 10:
            time.sleep(0.1)
            answers.append(pay(port, key, "/hang"))
    assert (answers[0].status, json.loads(answers[0].body)["error"]["code"]) == (409, "IDEMPOTENCY_KEY_IN_USE")
    assert answers[-1].status == 201, "the key was never freed"
    assert json.loads(answers[-1].body) == {"run": 2}  # the retry ran the handler, in another worker
    assert int(client.lindex(runs, 1)) != holder  # type: ignore[arg-type]
