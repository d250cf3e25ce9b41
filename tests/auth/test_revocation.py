"""Revocation lists: the memory store and the two Redis stores behind one table of tests, on a real redis-server.

The Redis stores are counted, not only timed: a check is one command on the
server (``INFO commandstats``), a revocation's TTL is read back with ``PTTL``,
and a dead Redis (nothing listening, or a blackhole that never answers) costs a
check at most the store's timeout, with a single connection attempt.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.cluster
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from backendkit.auth import HMACKey, InvalidToken, JWTVerifier, MemoryRevocations, Principal, issue
from backendkit.auth.redis import AsyncRedisRevocations, RedisRevocations
from backendkit.errors import ConfigurationError, ServiceUnavailable
from backendkit.stores import StoreUnavailable
from tests.support.net import Blackhole, blackhole, free_port
from tests.support.redis import RedisCluster, RedisServer, find_redis_server, start_redis

T = TypeVar("T")
KEY = HMACKey("tests-only-revocation-secret-of-32-bytes!")
NOW = 1_800_000_000.0
TIMEOUT = 0.25
SLACK = 0.5  # a busy machine's scheduling; a retrying client took seconds
KINDS = ["memory", "redis", "redis-async"]
REDIS_KINDS = ["redis", "redis-async"]
# As fixture parameters: the Redis ones need the redis-server binary the session fixture starts.
ON_SERVER = [pytest.param(kind, marks=pytest.mark.redis) for kind in REDIS_KINDS]
HEX_KEY = re.compile(r"[0-9a-f]{32}")
ODD_JTIS = ["", "x" * 256, "{tag}", "ü/\x00 *?[]\r\n", "\ud800", "😀" * 64]


class Store:
    """One revocation list, driven the same way whatever its kind: an async one on an event loop of the test's own."""

    def __init__(self, kind: str, client: Any = None, server: redis.Redis | None = None, **options: Any) -> None:
        self.kind = kind
        self.server = server  # a client of the test's own, to look at what the store left in Redis
        # A loop of the store's own (asyncio.Runner is 3.11+; the suite runs on 3.10 too).
        self.loop = asyncio.new_event_loop() if kind == "redis-async" else None
        self.raw: Any
        if kind == "memory":
            self.raw = MemoryRevocations()
        elif kind == "redis":
            self.raw = RedisRevocations(client, **options)
        else:
            self.raw = AsyncRedisRevocations(client, **options)

    def run(self, sync: Callable[[], T], coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return sync() if self.loop is None else self.loop.run_until_complete(coroutine())

    def revoke(self, jti: str, expires_at: float, now: float) -> None:
        self.run(lambda: self.raw.revoke(jti, expires_at, now), lambda: self.raw.arevoke(jti, expires_at, now))

    def is_revoked(self, jti: str, now: float) -> bool:
        return self.run(lambda: self.raw.is_revoked(jti, now), lambda: self.raw.ais_revoked(jti, now))

    def verify(self, verifier: JWTVerifier, token: str, now: float) -> Principal:
        return self.run(lambda: verifier.verify(token, now=now), lambda: verifier.averify(token, now=now))

    def revoke_principal(self, verifier: JWTVerifier, principal: Principal, now: float) -> None:
        self.run(lambda: verifier.revoke(principal, now=now), lambda: verifier.arevoke(principal, now=now))

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if isinstance(self.raw, RedisRevocations):
            self.raw.close()
        elif self.loop is not None:
            self.loop.run_until_complete(self.raw.aclose())
            self.loop.close()


@pytest.fixture
def prefix() -> str:
    return f"test-revocation:{uuid.uuid4().hex[:8]}:"


def open_store(request: pytest.FixtureRequest, kind: str, prefix: str) -> Store:
    if kind == "memory":
        return Store(kind)
    server: RedisServer = request.getfixturevalue("redis_server")
    inspect = redis.Redis(host=server.host, port=server.port, socket_timeout=2)
    return Store(kind, server.url, inspect, prefix=prefix)


def on_server(store: Store) -> redis.Redis:
    assert store.server is not None
    return store.server


@pytest.fixture(params=["memory", *ON_SERVER])
def store(request: pytest.FixtureRequest, prefix: str) -> Iterator[Store]:
    opened = open_store(request, request.param, prefix)
    yield opened
    opened.close()


@pytest.fixture(params=ON_SERVER)
def redis_store(request: pytest.FixtureRequest, prefix: str) -> Iterator[Store]:
    opened = open_store(request, request.param, prefix)
    yield opened
    opened.close()


def test_a_revoked_jti_is_refused_and_others_are_not(store: Store) -> None:
    store.revoke("t1", NOW + 60, NOW)
    assert store.is_revoked("t1", NOW + 1)
    assert not store.is_revoked("t2", NOW + 1)
    store.revoke("t1", NOW + 60, NOW)  # again: no error, still revoked
    assert store.is_revoked("t1", NOW + 2)


@pytest.mark.parametrize("jti", ODD_JTIS, ids=range(len(ODD_JTIS)))
def test_any_jti_can_be_revoked(store: Store, jti: str) -> None:
    store.revoke(jti, NOW + 60, NOW)
    assert store.is_revoked(jti, NOW)
    assert not store.is_revoked(jti + "-other", NOW)


def test_the_ttl_is_the_time_the_token_has_left(redis_store: Store) -> None:
    server = on_server(redis_store)
    redis_store.revoke("t1", NOW + 42.5, NOW)
    pttl = server.pttl(redis_store.raw.key("t1"))
    assert 42_500 - 1_000 < pttl <= 42_500  # a second's tolerance for a slow machine
    assert server.get(redis_store.raw.key("t1")) == b"1"


@pytest.mark.parametrize("expires_at", [NOW - 3600, NOW - 0.001, NOW])
def test_an_expired_token_is_not_stored(store: Store, prefix: str, expires_at: float) -> None:
    store.revoke("old", expires_at, NOW)
    assert not store.is_revoked("old", NOW)
    if store.kind == "memory":
        assert len(store.raw) == 0
    else:
        assert on_server(store).keys(f"{prefix}*") == []


def test_a_check_is_one_round_trip_and_a_revocation_one_more(redis_store: Store) -> None:
    server = on_server(redis_store)
    redis_store.is_revoked("warm-up", NOW)  # connecting sends CLIENT SETINFO: count from then on
    server.config_resetstat()
    for i in range(5):
        redis_store.revoke(f"t{i}", NOW + 60, NOW)
    answers = [redis_store.is_revoked(f"t{i}", NOW) for i in range(10)]
    stats = server.info("commandstats")
    assert answers == [True] * 5 + [False] * 5
    ours = ("cmdstat_info", "cmdstat_config")  # the test's own INFO and CONFIG RESETSTAT (cmdstat_config|resetstat)
    calls = {name: int(stat["calls"]) for name, stat in stats.items() if not name.startswith(ours)}
    assert calls == {"cmdstat_set": 5, "cmdstat_exists": 10}


JTIS = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)  # surrogates too


@settings(max_examples=200, deadline=None)
@given(jti=JTIS)
def test_keys_have_a_fixed_length_and_plain_characters_whatever_the_jti(jti: str) -> None:
    for store in (RedisRevocations.from_url("redis://127.0.0.1:1/0"), AsyncRedisRevocations.from_url("redis://x")):
        key = store.key(jti)
        assert key.startswith("backendkit:revoked:")
        assert HEX_KEY.fullmatch(key.removeprefix("backendkit:revoked:"))
        assert key == store.key(jti)  # the same in every process: no per-process salt
        if isinstance(store, RedisRevocations):
            store.close()


@pytest.mark.redis
@settings(max_examples=50, deadline=None)
@given(jti=JTIS)
def test_any_jti_round_trips_through_redis(redis_server: RedisServer, jti: str) -> None:
    store = RedisRevocations.from_url(redis_server.url, prefix="hypothesis:")
    try:
        store.revoke(jti, NOW + 60, NOW)
        assert store.is_revoked(jti, NOW)
        assert store.client.strlen(store.key(jti)) == 1  # the key Redis holds is the fixed-length one
    finally:
        store.client.delete(store.key(jti))
        store.close()


def test_odd_jtis_make_fixed_length_keys_on_the_server(redis_store: Store, prefix: str) -> None:
    for jti in ODD_JTIS:
        redis_store.revoke(jti, NOW + 60, NOW)
    keys = on_server(redis_store).keys(f"{prefix}*")
    assert len(keys) == len(ODD_JTIS)
    assert all(HEX_KEY.fullmatch(k.decode().removeprefix(prefix)) for k in keys)


# A dead Redis, behind a client as redis-py makes it by default (retries with back-off, no connect
# timeout): the store copies its settings with bounded waits, so a check waits at most TIMEOUT.


def dead_store(kind: str, port: int, on_error: str) -> Store:
    client: Any = (redis.Redis if kind == "redis" else redis.asyncio.Redis)(host="127.0.0.1", port=port)
    return Store(kind, client, on_store_error=on_error, timeout=TIMEOUT)


def token_of(subject: str) -> str:
    return issue(KEY, subject, now=NOW)


def principal_of(token: str) -> Principal:
    """The principal of ``token``, verified without a revocation list (what a logout revokes)."""
    return JWTVerifier([KEY]).verify(token, now=NOW)


def attempts(hole: Blackhole | None) -> int:
    return 1 if hole is None else hole.accepted


@pytest.fixture(params=["stopped", "hung"])
def dead_port(request: pytest.FixtureRequest) -> Iterator[tuple[int, Blackhole | None]]:
    """A port where Redis is stopped (nothing listens) or hung (it accepts, never answers)."""
    if request.param == "stopped":
        yield free_port(), None
    else:
        with blackhole() as hole:
            yield hole.port, hole


@pytest.mark.parametrize("kind", REDIS_KINDS)
def test_a_dead_redis_fails_closed_with_a_503_within_the_timeout(
    kind: str, dead_port: tuple[int, Blackhole | None]
) -> None:
    port, hole = dead_port
    store = dead_store(kind, port, "closed")
    verifier = JWTVerifier([KEY], revocations=store.raw)  # the verifier applies the store's policy
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        store.verify(verifier, token_of("user-1"), NOW)
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + SLACK
    assert attempts(hole) == 1  # one attempt, no retry
    assert caught.value.status == 503
    assert caught.value.headers == {"Retry-After": "1"}
    # Chained, for the logs; never shown: the store's StoreUnavailable, from the driver's error.
    assert isinstance(caught.value.__cause__, StoreUnavailable)
    assert isinstance(caught.value.__cause__.__cause__, redis.RedisError)
    store.close()


@pytest.mark.parametrize("kind", REDIS_KINDS)
def test_a_dead_redis_is_store_unavailable_from_the_store_itself(kind: str) -> None:
    store = dead_store(kind, free_port(), "closed")
    with pytest.raises(StoreUnavailable) as caught:  # never an HTTP error from a store
        store.is_revoked("t1", NOW)
    assert isinstance(caught.value.__cause__, redis.RedisError)
    store.close()


@pytest.mark.parametrize("kind", REDIS_KINDS)
def test_a_dead_redis_fails_open_with_one_warning_per_outage(
    kind: str, dead_port: tuple[int, Blackhole | None], caplog: pytest.LogCaptureFixture
) -> None:
    port, _ = dead_port
    store = dead_store(kind, port, "open")
    verifier = JWTVerifier([KEY], revocations=store.raw)
    with caplog.at_level(logging.WARNING, logger="backendkit.auth"):
        started = time.monotonic()
        assert store.verify(verifier, token_of("t1"), NOW).subject == "t1"  # not revoked
        assert time.monotonic() - started < TIMEOUT + SLACK
        assert store.verify(verifier, token_of("t2"), NOW).subject == "t2"
    warnings = [r for r in caplog.records if r.name == "backendkit.auth"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "unavailable" in warnings[0].getMessage()
    store.close()


@pytest.mark.parametrize("on_error", ["closed", "open"])
@pytest.mark.parametrize("kind", REDIS_KINDS)
def test_a_revocation_redis_cannot_store_is_a_503_whatever_on_error_says(kind: str, on_error: str) -> None:
    store = dead_store(kind, free_port(), on_error)
    verifier = JWTVerifier([KEY], revocations=store.raw)
    with pytest.raises(ServiceUnavailable):
        store.revoke_principal(verifier, principal_of(token_of("user-1")), NOW)
    store.close()


@pytest.mark.parametrize("kind", REDIS_KINDS)
def test_the_verifier_lets_a_503_through_rather_than_accept_a_token(kind: str) -> None:
    store = dead_store(kind, free_port(), "closed")
    verifier = JWTVerifier([KEY], revocations=store.raw)
    with pytest.raises(ServiceUnavailable):
        store.verify(verifier, issue(KEY, "user-1", now=NOW), NOW)
    store.close()


@pytest.mark.redis
@pytest.mark.parametrize("kind", REDIS_KINDS)
def test_the_store_answers_again_when_redis_is_back(
    kind: str, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    store = Store(kind, f"redis://127.0.0.1:{port}/0", on_store_error="open", timeout=TIMEOUT)
    verifier = JWTVerifier([KEY], revocations=store.raw)
    token = token_of("user-1")
    with caplog.at_level(logging.WARNING, logger="backendkit.auth"):
        assert store.verify(verifier, token, NOW).subject == "user-1"  # nothing listens yet: not revoked
        restarted = start_redis(find_redis_server() or "redis-server", port=port)
        try:
            store.revoke_principal(verifier, principal_of(token), NOW)  # a revocation always asks Redis
            with pytest.raises(InvalidToken) as caught:
                store.verify(verifier, token, NOW)
            assert caught.value.reason == "revoked"
        finally:
            store.close()
            restarted.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "backendkit.auth"]
    assert len(messages) == 2
    assert "unavailable" in messages[0]
    assert messages[1] == "the Redis revocation list is available again"


# The verifier end to end: verify, revoke (a logout), refused as "revoked"; the entry lasts until exp.


def test_a_logout_revokes_the_token_until_it_expires(store: Store) -> None:
    now = time.time()
    verifier = JWTVerifier([KEY], revocations=store.raw, leeway=0)
    token = issue(KEY, "user-1", lifetime=2, now=now)
    principal = store.verify(verifier, token, now)
    assert principal.subject == "user-1"
    store.revoke_principal(verifier, principal, now)
    with pytest.raises(InvalidToken) as caught:
        store.verify(verifier, token, now + 0.5)
    assert caught.value.reason == "revoked"
    exp = float(principal.claims["exp"])
    with pytest.raises(InvalidToken) as caught:
        store.verify(verifier, token, exp)
    assert caught.value.reason == "expired"  # revoked or not: its revocation no longer matters
    if store.kind == "memory":
        store.revoke("another", exp + 60, exp)  # forgetting happens on the next revocation
        assert len(store.raw) == 1
    else:
        pttl = on_server(store).pttl(store.raw.key(principal.claims["jti"]))
        assert 0 < pttl <= math.ceil((exp - now) * 1000)  # Redis drops it when it expires (leeway 0 here)


def test_a_revoked_token_stays_refused_through_the_leeway(store: Store) -> None:
    verifier = JWTVerifier([KEY], revocations=store.raw, leeway=5)
    token = issue(KEY, "user-1", lifetime=60, now=NOW)
    principal = store.verify(verifier, token, NOW)
    store.revoke_principal(verifier, principal, NOW)
    if store.kind == "memory":
        with pytest.raises(InvalidToken):
            store.verify(verifier, token, NOW + 62)  # after exp, within the leeway
    else:
        assert on_server(store).pttl(store.raw.key(principal.claims["jti"])) > 62_000


@pytest.mark.redis
def test_one_async_store_serves_several_event_loops(redis_server: RedisServer, prefix: str) -> None:
    store = AsyncRedisRevocations.from_url(redis_server.url, prefix=prefix)

    async def use(revoke: bool) -> Any:
        if revoke:
            await store.arevoke("t1", NOW + 60, NOW)
        assert await store.ais_revoked("t1", NOW)
        client = store.client
        await store.aclose()
        return client

    first = asyncio.run(use(revoke=True))
    second = asyncio.run(use(revoke=False))  # a connection of the first loop would fail on this one
    assert first is not second


# Redis Cluster: every command names one key, so a client that bounds its own waits works as it is;
# one that could wait longer is refused at start-up, as the rate-limit stores refuse it.

BOUNDED: dict[str, Any] = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT, "retry": Retry(NoBackoff(), 0)}
# An asyncio client takes the asyncio Retry (redis-py 8.2 warns about a synchronous one).
ASYNC_BOUNDED: dict[str, Any] = {**BOUNDED, "retry": redis.asyncio.retry.Retry(NoBackoff(), 0)}


@pytest.mark.redis
def test_a_cluster_client_that_bounds_its_waits_works(redis_cluster: RedisCluster) -> None:
    nodes = [redis.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes]
    client = redis.cluster.RedisCluster(startup_nodes=nodes, **BOUNDED)
    store = RedisRevocations(client, prefix="cluster:")
    jtis = [f"t{i}" for i in range(12)]
    for jti in jtis:
        store.revoke(jti, NOW + 60, NOW)
    assert all(store.is_revoked(jti, NOW) for jti in jtis)
    assert not store.is_revoked("other", NOW)
    assert all(0 < client.pttl(store.key(jti)) <= 60_000 for jti in jtis)
    owners = {client.get_node_from_key(store.key(jti)).port for jti in jtis}
    assert len(owners) > 1  # spread over the primaries: no hash tag ties them to one slot
    store.close()  # the client was used as it is: still the caller's
    assert client.exists(store.key("t1")) == 1
    client.close()


@pytest.mark.redis
def test_an_async_cluster_client_that_bounds_its_waits_works(redis_cluster: RedisCluster) -> None:
    async def main() -> None:
        nodes = [redis.asyncio.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes]
        client: Any = redis.asyncio.cluster.RedisCluster(startup_nodes=nodes, **ASYNC_BOUNDED)
        store = AsyncRedisRevocations(client, prefix="acluster:")
        try:
            await store.arevoke("t1", NOW + 60, NOW)
            assert await store.ais_revoked("t1", NOW)
            assert not await store.ais_revoked("t2", NOW)
            await store.aclose()
        finally:
            await client.aclose()

    asyncio.run(main())


@pytest.mark.redis
def test_a_cluster_client_that_could_wait_longer_is_refused_at_start_up(redis_cluster: RedisCluster) -> None:
    nodes = [redis.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes]
    unbounded = redis.cluster.RedisCluster(startup_nodes=nodes)  # no timeouts, retries with back-off
    with pytest.raises(ConfigurationError, match=r"socket_timeout=0\.25, socket_connect_timeout=0\.25"):
        RedisRevocations(unbounded)
    unbounded.close()


# Arguments are checked when the store is built, never on a request.

BAD_OPTIONS: list[dict[str, Any]] = [
    {"prefix": 3},
    {"on_store_error": "maybe"},
    {"on_store_error": None},
    {"timeout": 0},
    {"timeout": -1},
    {"timeout": True},
    {"timeout": float("inf")},
    {"timeout": "0.25"},
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=[repr(o) for o in BAD_OPTIONS])
@pytest.mark.parametrize("store_class", [RedisRevocations, AsyncRedisRevocations])
def test_bad_arguments_are_a_configuration_error(store_class: Any, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        store_class.from_url("redis://127.0.0.1:6379/0", **options)


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/0", "redis://127.0.0.1:port/0", b"redis://x", None])
@pytest.mark.parametrize("store_class", [RedisRevocations, AsyncRedisRevocations])
def test_a_bad_url_is_a_configuration_error(store_class: Any, url: Any) -> None:
    with pytest.raises(ConfigurationError):
        store_class.from_url(url)


def test_a_client_of_the_wrong_kind_is_a_configuration_error() -> None:
    sync_client = redis.Redis()
    async_client = redis.asyncio.Redis()
    with pytest.raises(ConfigurationError, match="AsyncRedisRevocations"):
        RedisRevocations(async_client)
    with pytest.raises(ConfigurationError, match="needs an asyncio client"):
        AsyncRedisRevocations(sync_client)
    sync_client.close()
    asyncio.run(async_client.aclose())
