"""Each store, through :class:`Idempotency`: first request, replay, mismatch, in flight, release, expiry, outage.

The Redis stores run against the test session's own redis-server (and a real
three-node Cluster); the outage tests against a server of their own that they stop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.cluster
from redis.backoff import NoBackoff
from redis.retry import Retry

from backendkit.errors import ConfigurationError, ServiceUnavailable
from backendkit.idempotency import (
    Attempt,
    Idempotency,
    IdempotencyKeyInUse,
    IdempotencyKeyMismatch,
    IdempotencyKeyMissing,
    KeyedRequest,
    MemoryStore,
    Replay,
)
from backendkit.idempotency.redis import AsyncRedisStore, RedisStore
from tests.support.redis import RedisCluster, RedisServer

BODY = b'{"title": "buy milk"}'
CREATED = [("Content-Type", "application/json"), ("Location", "/tasks/7"), ("X-Request-ID", "first")]


def keyed(key: str, body: bytes = BODY, **changes: Any) -> KeyedRequest:
    fields: dict[str, Any] = {
        "method": "POST",
        "path": "/tasks",
        "query": "",
        "content_type": "application/json",
        "body": body,
        "key_values": [key],
        "client": "10.0.0.1",
    }
    fields.update(changes)
    return KeyedRequest(**fields)


class Runner:
    """One API over a sync or an async store: the tests read the same either way."""

    def __init__(self, keys: Idempotency, asynchronous: bool) -> None:
        self.keys = keys
        self.asynchronous = asynchronous
        self.loop = asyncio.new_event_loop() if asynchronous else None

    def _call(self, sync: Callable[..., Any], coroutine: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.loop is None:
            return sync(*args, **kwargs)
        return self.loop.run_until_complete(coroutine(*args, **kwargs))

    def start(self, request: KeyedRequest, **kwargs: Any) -> Any:
        return self._call(self.keys.start, self.keys.astart, request, **kwargs)

    def finish(self, attempt: Attempt, status: int, headers: Any, body: bytes | None) -> None:
        self._call(self.keys.finish, self.keys.afinish, attempt, status, headers, body)

    def abandon(self, attempt: Attempt) -> None:
        self._call(self.keys.abandon, self.keys.aabandon, attempt)

    def close(self) -> None:
        if self.loop is not None:
            store = self.keys.store
            if isinstance(store, AsyncRedisStore):
                self.loop.run_until_complete(store.aclose())
            self.loop.close()


STORES = ["memory", "memory-async", "redis", "redis-async"]


@pytest.fixture(params=STORES)
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., Runner]]:
    kind: str = request.param
    made: list[Runner] = []

    def build(**options: Any) -> Runner:
        if kind.startswith("memory"):
            store: Any = MemoryStore()
        else:
            server: RedisServer = request.getfixturevalue("redis_server")
            store = AsyncRedisStore(server.url) if kind.endswith("async") else RedisStore(server.url)
        options.setdefault("prefix", f"test:{uuid.uuid4().hex}:")
        runner = Runner(Idempotency(store, **options), kind.endswith("async"))
        made.append(runner)
        return runner

    yield build
    for runner in made:
        runner.close()
        if isinstance(runner.keys.store, RedisStore):
            runner.keys.store.close()


def test_a_retry_gets_the_first_response_byte_for_byte(make: Callable[..., Runner]) -> None:
    run = make()
    attempt = run.start(keyed("k1"))
    assert isinstance(attempt, Attempt)
    run.finish(attempt, 201, CREATED, b'{"id":7}')
    replay = run.start(keyed('"k1"'))  # the draft's quoted form names the same key
    assert isinstance(replay, Replay)
    assert (replay.response.status, replay.response.body) == (201, b'{"id":7}')
    assert replay.headers == (
        ("Content-Type", "application/json"),
        ("Location", "/tasks/7"),
        ("Idempotent-Replayed", "true"),
    )


def test_the_same_key_with_another_request_is_a_422(make: Callable[..., Runner]) -> None:
    run = make()
    run.finish(run.start(keyed("k2")), 201, CREATED, b"{}")
    for changed in (
        keyed("k2", b'{"title": "buy bread"}'),
        keyed("k2", query="dry_run=1"),
        keyed("k2", content_type="text/plain"),
    ):
        with pytest.raises(IdempotencyKeyMismatch):
            run.start(changed)


def test_the_same_key_while_the_first_runs_is_a_409_then_a_replay(make: Callable[..., Runner]) -> None:
    run = make()
    attempt = run.start(keyed("k3"))
    with pytest.raises(IdempotencyKeyInUse) as busy:
        run.start(keyed("k3"))
    assert busy.value.headers == {"Retry-After": "1"}
    with pytest.raises(IdempotencyKeyMismatch):  # a different request meeting the lock: the key is taken
        run.start(keyed("k3", b"{}"))
    run.finish(attempt, 201, CREATED, b"{}")
    assert isinstance(run.start(keyed("k3")), Replay)


def test_keys_are_scoped_per_principal_and_route(make: Callable[..., Runner]) -> None:
    run = make()
    run.finish(run.start(keyed("k4", user_id="alice")), 201, CREATED, b"alice's")
    for other in (
        keyed("k4", user_id="bob"),
        keyed("k4", api_key="bob's key"),
        keyed("k4", client="10.0.0.2"),
        keyed("k4", user_id="alice", method="PATCH"),
        keyed("k4", user_id="alice", path="/other"),
    ):
        assert isinstance(run.start(other), Attempt), other  # a new request, never alice's response
    assert run.start(keyed("k4", user_id="alice")).response.body == b"alice's"


@pytest.mark.parametrize(
    ("status", "body"), [(422, b"{}"), (500, b"{}"), (503, b"{}"), (201, None), (201, b"x" * 2000)]
)
def test_an_unkept_answer_releases_the_key(make: Callable[..., Runner], status: int, body: bytes | None) -> None:
    run = make(max_size=1000)
    run.finish(run.start(keyed("k5")), status, CREATED, body)
    again = run.start(keyed("k5"))
    assert isinstance(again, Attempt)  # runs again, rather than a replay or a 409
    run.finish(again, 201, CREATED, b"kept")
    assert run.start(keyed("k5")).response.body == b"kept"


def test_a_handler_that_raised_releases_the_key(make: Callable[..., Runner]) -> None:
    run = make()
    run.abandon(run.start(keyed("k6")))
    assert isinstance(run.start(keyed("k6")), Attempt)


def test_no_key_runs_as_usual_unless_required(make: Callable[..., Runner]) -> None:
    run = make()
    assert run.start(keyed("k7", key_values=[])) is None
    with pytest.raises(IdempotencyKeyMissing) as missing:
        run.start(keyed("k7", key_values=[]), required=True)
    assert (missing.value.status, missing.value.code) == (400, "IDEMPOTENCY_KEY_MISSING")
    with pytest.raises(IdempotencyKeyMissing):
        make(required=True).start(keyed("k7", key_values=[]))


def test_a_lock_expires_when_its_holder_died(make: Callable[..., Runner]) -> None:
    run = make(lock_ttl=0.2)
    dead = run.start(keyed("k8"))  # a worker that takes the key and never finishes
    with pytest.raises(IdempotencyKeyInUse):
        run.start(keyed("k8"))
    time.sleep(0.3)
    retry = run.start(keyed("k8"))
    assert isinstance(retry, Attempt)
    run.finish(dead, 201, CREATED, b"late")  # the dead one's late finish cannot overwrite the new holder
    run.finish(retry, 201, CREATED, b"retry")
    assert run.start(keyed("k8")).response.body == b"retry"


def test_a_response_is_kept_for_its_ttl(make: Callable[..., Runner]) -> None:
    run = make(ttl=0.2)
    run.finish(run.start(keyed("k9")), 201, CREATED, b"{}")
    assert isinstance(run.start(keyed("k9")), Replay)
    time.sleep(0.3)
    assert isinstance(run.start(keyed("k9")), Attempt)


def test_every_store_operation_is_safe_to_repeat(make: Callable[..., Runner]) -> None:
    # A store retries a call whose connection broke: the repeat must not turn ours into theirs.
    run = make()
    store, lock, record = run.keys.store, b"L" + b"a" * 64 + b"0" * 32, b"R" + b"a" * 64 + b"201[]\n{}"

    def call(name: str, *args: Any) -> Any:
        if run.loop is None:
            return getattr(store, name)(*args)
        return run.loop.run_until_complete(getattr(store, "a" + name)(*args))

    key = run.keys.prefix + "{repeat}"
    assert call("begin", key, lock, 60_000) == (None, 0)
    assert call("begin", key, lock, 60_000) == (None, 0)  # our own lock: still ours
    assert call("finish", key, lock, record, 60_000) is True
    assert call("finish", key, lock, record, 60_000) is True  # our own record: done
    assert call("begin", key, b"L" + b"a" * 64 + b"1" * 32, 60_000)[0] == record  # another request: the record


def test_the_store_must_suit_the_code() -> None:
    with pytest.raises(ConfigurationError):
        Idempotency(object())
    with pytest.raises(ConfigurationError):
        Idempotency(MemoryStore(), methods=("GET", "POST"))
    with pytest.raises(ConfigurationError):
        Idempotency(MemoryStore(), on_store_error="maybe")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Idempotency(AsyncRedisStore("redis://127.0.0.1:1/0")).require_sync()
    with pytest.raises(ConfigurationError):
        Idempotency(RedisStore("redis://127.0.0.1:1/0")).require_async()


def test_one_of_many_threads_takes_a_key_in_redis(redis_server: RedisServer) -> None:
    stores = [RedisStore(redis_server.url) for _ in range(8)]
    prefix = f"test:{uuid.uuid4().hex}:"
    outcomes: list[str] = []
    barrier = threading.Barrier(len(stores))

    def contend(store: RedisStore) -> None:
        keys = Idempotency(store, prefix=prefix)
        barrier.wait()
        try:
            outcomes.append(type(keys.start(keyed("shared"))).__name__)
        except IdempotencyKeyInUse:
            outcomes.append("in use")

    threads = [threading.Thread(target=contend, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["Attempt"] + ["in use"] * 7
    for store in stores:
        store.close()


def test_an_async_store_shows_the_client_of_each_loop(redis_server: RedisServer) -> None:
    # What a readiness check pings: the connections the store itself uses, on the loop that runs the check.
    store = AsyncRedisStore(redis_server.url)

    async def ping() -> tuple[Any, bool]:
        client = store.client
        answered = await client.ping()
        assert store.client is client  # one client per loop
        await store.aclose()
        return client, answered

    first, second = asyncio.run(ping()), asyncio.run(ping())
    assert (first[1], second[1]) == (True, True)
    assert first[0] is not second[0]  # another loop, another client


def test_a_cluster_client_works_as_a_plain_one(redis_cluster: RedisCluster) -> None:
    nodes = [redis.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes]
    client = redis.cluster.RedisCluster(
        startup_nodes=nodes, socket_timeout=0.25, socket_connect_timeout=0.25, retry=Retry(NoBackoff(), 0)
    )
    keys = Idempotency(RedisStore(client))
    for n in range(20):  # keys spread over the slots, each operation on one node
        attempt = keys.start(keyed(f"cluster-{n}"))
        assert isinstance(attempt, Attempt)
        assert attempt.key.count("{") == 1
        keys.finish(attempt, 201, CREATED, b"%d" % n)
        assert keys.start(keyed(f"cluster-{n}")).response.body == b"%d" % n
    client.close()


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_dead_redis_follows_the_policy(
    own_redis: RedisServer, asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    store: Any = AsyncRedisStore(own_redis.url) if asynchronous else RedisStore(own_redis.url)
    closed = Runner(Idempotency(store, on_store_error="closed"), asynchronous)
    opened = Runner(Idempotency(store, on_store_error="open"), asynchronous)
    running = closed.start(keyed("outage"))  # taken while Redis is up
    assert isinstance(running, Attempt)
    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="backendkit.idempotency"):
        for _ in range(3):
            with pytest.raises(ServiceUnavailable) as refused:
                closed.start(keyed("outage-2"))
            assert (refused.value.status, refused.value.headers) == (503, {"Retry-After": "1"})
            assert opened.start(keyed("outage-2")) is None  # served without idempotency
        closed.finish(running, 201, CREATED, b"{}")  # the answer still goes out; only its record is lost
    warnings = [r.getMessage() for r in caplog.records if r.name == "backendkit.idempotency"]
    assert len(warnings) == 2  # once per Idempotency object and outage, not once per request
    assert all("unavailable" in w for w in warnings)
    closed.close()
    opened.close()


def test_a_full_memory_store_drops_the_oldest_and_the_expired() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0], max_entries=3)
    for n in range(5):
        store.begin(f"k{n}", b"L" + b"0" * 96, 60_000)
    assert len(store) == 3
    assert store.begin("k0", b"L" + b"1" * 96, 60_000) == (None, 0)  # k0 went first: free again
    assert store.begin("k4", b"L" + b"1" * 96, 60_000)[0] == b"L" + b"0" * 96  # k4 is still held
    now[0] = 61.0  # every lock expired: each write drops the oldest ones it meets
    store.begin("k5", b"L" + b"0" * 96, 60_000)
    store.begin("k6", b"L" + b"0" * 96, 60_000)
    assert len(store) <= 3
