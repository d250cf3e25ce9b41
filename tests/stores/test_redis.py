"""The Redis kernel under the three pieces, on real servers: every driver error reaches the outage policy,
the breaker keeps a dead Redis from costing every request its wait, and a client the application gave stays open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.retry
import redis.cluster
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from backendkit.auth import HMACKey, JWTVerifier, issue
from backendkit.auth.redis import AsyncRedisRevocations, RedisRevocations
from backendkit.errors import ServiceUnavailable
from backendkit.idempotency import Idempotency, KeyedRequest
from backendkit.idempotency import MemoryStore as IdempotencyMemoryStore
from backendkit.idempotency.redis import AsyncRedisStore as AsyncIdempotencyStore
from backendkit.idempotency.redis import RedisStore as IdempotencyStore
from backendkit.ratelimit import (
    AsyncRateLimiter,
    AsyncRedisStore,
    Limit,
    MemoryStore,
    RateLimiter,
    RedisStore,
    SlidingWindow,
    TokenBucket,
)
from backendkit.stores import StoreUnavailable
from tests.support.net import blackhole, free_port
from tests.support.redis import RedisCluster, RedisServer, redis_binary, start_redis

pytestmark = pytest.mark.usefixtures("collected")  # (tests/conftest.py: warnings recorded here are theirs)

KEY = HMACKey("tests-only-kernel-secret-of-32-bytes!!!!")
NOW = 1_800_000_000.0
TIMEOUT = 0.1
BOUNDED: dict[str, Any] = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25, "retry": Retry(NoBackoff(), 0)}
ASYNC_BOUNDED: dict[str, Any] = {**BOUNDED, "retry": redis.asyncio.retry.Retry(NoBackoff(), 0)}
POLICIES = [TokenBucket("5/second", burst=4), SlidingWindow("6/minute")]


def keyed(key: str) -> KeyedRequest:
    return KeyedRequest("POST", "/tasks", "", "application/json", b"{}", [key], client="10.0.0.1")


class Spread(RateLimiter):
    """Keys without a hash tag: on a Cluster their slots differ, and the Cluster client refuses the script."""

    def keys(self, key: str) -> list[str]:
        return [f"spread:{key}:{n}" for n in range(len(self._specs))]


class AsyncSpread(AsyncRateLimiter):
    def keys(self, key: str) -> list[str]:
        return [f"aspread:{key}:{n}" for n in range(len(self._specs))]


# Redis Cluster errors are not RedisErrors: they once went past on_store_error as exceptions.


@pytest.mark.redis
def test_a_cluster_error_reaches_on_store_error(redis_cluster: RedisCluster) -> None:
    nodes = [redis.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes]
    client = redis.cluster.RedisCluster(startup_nodes=nodes, **BOUNDED)
    store = RedisStore(client)
    with pytest.raises(StoreUnavailable) as caught:
        store.apply(["{a}x", "{b}y"], Spread(POLICIES)._specs, 1, "hit")
    assert isinstance(caught.value.__cause__, redis.exceptions.RedisClusterException)
    closed = Spread(POLICIES, store, on_store_error="closed")
    decision = closed.hit("user")  # never an exception
    assert not decision.allowed
    assert decision.retry_after == 1.0
    assert Spread(POLICIES, store).hit("user").allowed  # open, the default
    client.close()


@pytest.mark.redis
def test_an_async_cluster_error_reaches_on_store_error(redis_cluster: RedisCluster) -> None:
    async def main() -> bool:
        client = async_cluster_client(redis_cluster)
        store = AsyncRedisStore(client)
        try:
            return (await AsyncSpread(POLICIES, store, on_store_error="closed").hit("user")).allowed
        finally:
            await store.aclose()
            await client.aclose()

    assert asyncio.run(main()) is False


def async_cluster_client(cluster: RedisCluster) -> Any:
    startup = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in cluster.startup_nodes]
    return redis.asyncio.cluster.RedisCluster(startup_nodes=startup, **ASYNC_BOUNDED)


# Sentinel: no sentinel answers, so no master is found (MasterNotFoundError).


def sentinel_master(port: int) -> Any:
    sentinel = Sentinel([("127.0.0.1", port)], sentinel_kwargs={"socket_timeout": 0.25, "socket_connect_timeout": 0.25})
    return sentinel.master_for("mymaster", **BOUNDED)


def test_a_sentinel_without_a_master_reaches_every_policy() -> None:
    master = sentinel_master(free_port())
    with pytest.raises(StoreUnavailable) as caught:
        RedisStore(master).clear(["k"])
    assert isinstance(caught.value.__cause__, redis.sentinel.MasterNotFoundError)
    assert not RateLimiter(SlidingWindow("5/minute"), RedisStore(master), on_store_error="closed").hit("k").allowed
    with pytest.raises(ServiceUnavailable):
        Idempotency(IdempotencyStore(master)).start(keyed("k1"))
    verifier = JWTVerifier([KEY], revocations=RedisRevocations(master))
    with pytest.raises(ServiceUnavailable):
        verifier.verify(issue(KEY, "user-1", now=NOW), now=NOW)
    master.close()


# Close ownership: a client the application gave, used as it is, stays open.


def connections_named(server: RedisServer, name: str) -> int:
    inspect = redis.Redis(host=server.host, port=server.port, socket_timeout=2)
    try:
        return sum(c.get("name") == name for c in inspect.client_list())
    finally:
        inspect.close()


SYNC_STORES: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "rate limits": (RedisStore, lambda store: store.clear(["own:k"])),
    "idempotency keys": (IdempotencyStore, lambda store: store.release("own:k", b"L")),
    "revocations": (RedisRevocations, lambda store: store.is_revoked("own:jti", 0.0)),
}
ASYNC_STORES: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "rate limits": (AsyncRedisStore, lambda store: store.aclear(["own:k"])),
    "idempotency keys": (AsyncIdempotencyStore, lambda store: store.arelease("own:k", b"L")),
    "revocations": (AsyncRedisRevocations, lambda store: store.ais_revoked("own:jti", 0.0)),
}


@pytest.mark.redis
@pytest.mark.parametrize("piece", list(SYNC_STORES))
def test_close_leaves_the_applications_client_open(piece: str, redis_server: RedisServer) -> None:
    name = f"app-{piece.replace(' ', '-')}"
    client = redis.Redis(host=redis_server.host, port=redis_server.port, client_name=name, **BOUNDED)
    make, use = SYNC_STORES[piece]
    store = make(client)
    assert store.client is client  # bounded already: used as it is
    use(store)
    assert connections_named(redis_server, name) == 1
    store.close()
    assert connections_named(redis_server, name) == 1  # still the application's, still connected
    client.close()
    assert connections_named(redis_server, name) == 0


@pytest.mark.redis
@pytest.mark.parametrize("piece", list(ASYNC_STORES))
def test_aclose_leaves_the_applications_client_open(piece: str, redis_server: RedisServer) -> None:
    name = f"aapp-{piece.replace(' ', '-')}"

    async def main() -> tuple[int, int]:
        client = redis.asyncio.Redis(host=redis_server.host, port=redis_server.port, client_name=name, **ASYNC_BOUNDED)
        make, use = ASYNC_STORES[piece]
        store = make(client)
        await use(store)
        assert store.client is client
        await store.aclose()
        still = connections_named(redis_server, name)
        await client.aclose()
        return still, connections_named(redis_server, name)

    assert asyncio.run(main()) == (1, 0)


@pytest.mark.redis
def test_close_closes_what_the_store_opened(redis_server: RedisServer) -> None:
    for make, use in SYNC_STORES.values():
        store = make(f"{redis_server.url}?client_name=store-own")
        use(store)
        assert connections_named(redis_server, "store-own") == 1
        store.close()
        assert connections_named(redis_server, "store-own") == 0


# The breaker: during an outage a check answers at once; one probe per retry_interval reaches Redis.


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hung() -> Iterator[Any]:
    """A Redis that accepts connections and never answers; ``accepted`` counts the store's attempts."""
    with blackhole() as hole:
        yield hole


def probes_over_time(hole: Any, clock: Clock, check: Callable[[], Any]) -> list[int]:
    """How many connections reached the hung Redis after each round of ten checks, the clock moving by 0.5 s."""
    seen = []
    for _ in range(5):
        for _ in range(10):
            check()
        seen.append(hole.accepted)
        clock.now += 0.5
    return seen


@pytest.mark.parametrize("policy", ["closed", "open"])
def test_idempotency_asks_a_hung_store_once_per_retry_interval(hung: Any, policy: str) -> None:
    store = IdempotencyStore(f"redis://127.0.0.1:{hung.port}/0", timeout=TIMEOUT)
    keys = Idempotency(store, on_store_error=policy, retry_interval=1.0)  # type: ignore[arg-type]
    keys.breaker.clock = clock = Clock()
    answers: list[Any] = []

    def check() -> None:
        try:
            answers.append(keys.start(keyed("k")))
        except ServiceUnavailable as exc:
            answers.append(exc.status)

    # One attempt at 0 s, none before 1 s, one at 1 s (the probe), one at 2 s.
    assert probes_over_time(hung, clock, check) == [1, 1, 2, 2, 3]
    assert set(answers) == ({503} if policy == "closed" else {None})
    store.close()


def test_async_idempotency_asks_a_hung_store_once_per_retry_interval(hung: Any) -> None:
    store = AsyncIdempotencyStore(f"redis://127.0.0.1:{hung.port}/0", timeout=TIMEOUT)
    keys = Idempotency(store, on_store_error="open")
    keys.breaker.clock = clock = Clock()
    loop = asyncio.new_event_loop()
    try:
        seen = probes_over_time(hung, clock, lambda: loop.run_until_complete(keys.astart(keyed("k"))))
        added = [later - earlier for earlier, later in pairwise([0, *seen])]
        assert added[1::2] == [0, 0]  # nothing reaches Redis within an interval
        # One probe per interval; on the asyncio side a probe whose timeout fired late (a busy machine's
        # loop, not Redis) tries once more in its turn: one call, one or two connections.
        assert all(probe in (1, 2) for probe in added[::2]), seen
        loop.run_until_complete(store.aclose())
    finally:
        loop.close()


@pytest.mark.parametrize("policy", ["closed", "open"])
def test_revocation_checks_ask_a_hung_store_once_per_retry_interval(hung: Any, policy: str) -> None:
    revocations = RedisRevocations(f"redis://127.0.0.1:{hung.port}/0", timeout=TIMEOUT)
    verifier = JWTVerifier([KEY], revocations=revocations, on_store_error=policy)  # type: ignore[arg-type]
    verifier.breaker.clock = clock = Clock()
    token = issue(KEY, "user-1", now=NOW)
    answers: list[Any] = []

    def check() -> None:
        try:
            answers.append(verifier.verify(token, now=NOW).subject)
        except ServiceUnavailable as exc:
            answers.append(exc.status)

    assert probes_over_time(hung, clock, check) == [1, 1, 2, 2, 3]
    assert set(answers) == ({503} if policy == "closed" else {"user-1"})
    revocations.close()


def test_the_limiter_asks_a_hung_store_once_per_retry_interval(hung: Any) -> None:
    store = RedisStore(f"redis://127.0.0.1:{hung.port}/0", timeout=TIMEOUT)
    limiter = RateLimiter(SlidingWindow("5/minute"), store, on_store_error="closed")
    limiter.breaker.clock = clock = Clock()
    assert probes_over_time(hung, clock, lambda: limiter.hit("k")) == [1, 1, 2, 2, 3]
    store.close()


@pytest.mark.redis
def test_one_log_line_per_state_change_for_idempotency(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    own = start_redis(redis_binary())
    store = IdempotencyStore(own.url)
    keys = Idempotency(store, on_store_error="open")
    keys.breaker.clock = clock = Clock()
    try:
        with caplog.at_level(logging.WARNING, logger="backendkit.idempotency"):
            assert keys.start(keyed("before")) is not None
            own.stop()
            for _ in range(5):
                assert keys.start(keyed("during")) is None
                clock.now += 0.5
            restarted = start_redis(redis_binary(), port=own.port)
            clock.now += 1.0
            try:
                assert keys.start(keyed("after")) is not None
                assert keys.start(keyed("after-2")) is not None
            finally:
                restarted.stop()
    finally:
        store.close()
        own.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "backendkit.idempotency"]
    assert len(messages) == 2, messages
    assert messages[0].startswith("the idempotency store is unavailable (redis: ")
    assert messages[0].endswith("; failing open")
    assert messages[1] == "the idempotency store is available again"


# The old spellings still work, with a DeprecationWarning.


def test_on_store_error_memory_is_a_fallback_memory_store() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.deprecated_call(match="fallback=MemoryStore"):
        limiter = RateLimiter(SlidingWindow("2/hour"), RedisStore(dead), on_store_error="memory")
    assert isinstance(limiter.fallback, MemoryStore)
    assert [limiter.hit("ann").allowed for _ in range(3)] == [True, True, False]  # counted locally
    with pytest.deprecated_call(match="fallback=MemoryStore"):
        Limit("1/minute", on_store_error="memory")


def test_on_error_is_on_store_error() -> None:
    with pytest.deprecated_call(match="on_store_error"):
        keys = Idempotency(IdempotencyMemoryStore(), on_error="open")
    assert keys.on_store_error == "open"
    for make in (RedisRevocations, AsyncRedisRevocations):
        with pytest.deprecated_call(match="on_store_error"):
            revocations = make.from_url("redis://127.0.0.1:6379/0", on_error="open")
        assert revocations.on_store_error == "open"
        assert JWTVerifier([KEY], revocations=revocations).on_store_error == "open"  # the verifier reads it
