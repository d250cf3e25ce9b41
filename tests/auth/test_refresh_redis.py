"""RedisRefreshStore on a real redis-server: counted round trips, its keys and TTLs, a Cluster, a dead Redis.

A rotation is one command from the client (``INFO commandstats``: one EVALSHA); a
family is one hash-tagged key whose TTL is its absolute end; a Redis Cluster
client works as a plain one; a dead or hung Redis is a ``StoreUnavailable`` from
the store and a 503 from the issuer, within the store's timeout, one attempt.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.cluster
from redis.backoff import NoBackoff
from redis.retry import Retry

from backendkit.auth import (
    HMACKey,
    InvalidGrant,
    InvalidToken,
    JWTVerifier,
    MemoryRevocations,
    RefreshPolicy,
    TokenIssuer,
)
from backendkit.auth._core.refresh import FORMAT
from backendkit.auth.redis import RedisRefreshStore
from backendkit.errors import ServiceUnavailable
from backendkit.stores import StoreUnavailable
from tests.support.net import Blackhole, blackhole, free_port
from tests.support.redis import RedisCluster, RedisServer

pytestmark = pytest.mark.redis

KEY = HMACKey("tests-only-refresh-secret-of-32-bytes!!")
TIMEOUT = 0.25
SLACK = 0.5
POLICY = RefreshPolicy(idle=3_600, lifetime=86_400, reuse_window=10)
BOUNDED: dict[str, Any] = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT, "retry": Retry(NoBackoff(), 0)}


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the test's own, to look at what the store left in Redis."""
    inspect = redis.Redis(host=redis_server.host, port=redis_server.port, socket_timeout=2)
    yield inspect
    inspect.close()


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[RedisRefreshStore]:
    made = RedisRefreshStore.from_url(redis_server.url, prefix=f"test-refresh:{uuid.uuid4().hex[:8]}:")
    yield made
    made.close()


def family_id(token: str) -> str:
    parsed = FORMAT.parse(token)
    assert not isinstance(parsed, str)
    return parsed.id


def calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


def test_a_rotation_is_one_round_trip_and_a_login_two(store: RedisRefreshStore, client: redis.Redis) -> None:
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY, revocations=MemoryRevocations())
    issuer.refresh(issuer.issue_pair("warm-up").refresh_token)  # connected, scripts loaded
    client.config_resetstat()
    pair = issuer.issue_pair("alice")
    login = calls(client)
    assert login.pop("evalsha") == 2  # the subject's index, then the family
    client.config_resetstat()
    for _ in range(25):
        pair = issuer.refresh(pair.refresh_token)
    rotations = calls(client)
    # What the client sent: 25 EVALSHAs. commandstats also counts what the script runs inside Redis.
    assert rotations.pop("evalsha") == 25
    assert set(rotations) <= {"hmget", "hset", "hexists", "hdel", "info", "config|resetstat"}
    assert rotations["hmget"] == 25
    assert rotations["hset"] == 25


def test_a_family_is_one_key_living_until_its_absolute_end(store: RedisRefreshStore, client: redis.Redis) -> None:
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    pair = issuer.issue_pair("alice")
    fid = family_id(pair.refresh_token)
    key = store.family_key(fid)
    assert key == f"{store.prefix}{{{fid}}}"
    assert set(client.keys(f"{store.prefix}*")) == {key.encode(), store.subject_key("alice").encode()}
    ttl = client.pttl(key)
    assert 86_400_000 - 5_000 < ttl <= 86_400_000
    second = issuer.refresh(pair.refresh_token)
    issuer.refresh(second.refresh_token)
    assert 0 < client.pttl(key) <= ttl  # rotations write fields: the absolute end stays
    assert 0 < client.pttl(store.subject_key("alice")) <= 86_400_000
    fields = client.hgetall(key)
    spent = sorted(name for name in fields if name.startswith(b"spent:"))
    assert len(spent) == 2  # the two tokens spent, by digest
    # Only digests are kept: no refresh token, no secret, in any field or value.
    for token in (pair.refresh_token, second.refresh_token):
        secret = token[len("bkr_") + 23 : -6]
        assert not any(secret.encode() in part for item in fields.items() for part in item)


def test_subjects_of_any_shape_have_keys_of_one_shape(store: RedisRefreshStore) -> None:
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    for subject in ["", "{tag}", "ü/\x00 *?[]\r\n", "😀" * 64, "x" * 1_000]:
        issuer.issue_pair(subject)
        assert len(store.subject_key(subject)) == len(store.prefix) + len("subject:{}") + 32
        assert len(store.families(subject)) == 1
        assert issuer.logout_everywhere(subject) == 1


def test_script_flush_mid_run_is_transparent(store: RedisRefreshStore, client: redis.Redis) -> None:
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    pair = issuer.issue_pair("alice")
    client.script_flush()
    pair = issuer.refresh(pair.refresh_token)
    client.script_flush()
    assert issuer.logout(family_id(pair.refresh_token))


def test_a_client_that_decodes_replies_works_too(redis_server: RedisServer) -> None:
    given = redis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True, **BOUNDED)
    store = RedisRefreshStore(given, prefix=f"test-refresh:{uuid.uuid4().hex[:8]}:")
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    first = issuer.issue_pair("alice", claims={"roles": ["viewer"]})
    second = issuer.refresh(first.refresh_token)
    assert issuer.refresh(first.refresh_token) == second
    assert store.families("alice") == [family_id(first.refresh_token)]
    store.close()  # the client was used as it is: still the caller's
    assert given.ping()
    given.close()


def test_a_cluster_client_works_and_families_spread_over_the_primaries(redis_cluster: RedisCluster) -> None:
    nodes = [redis.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes]
    client = redis.cluster.RedisCluster(startup_nodes=nodes, **BOUNDED)
    store = RedisRefreshStore(client, prefix="cluster-refresh:")
    revocations = MemoryRevocations()
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY, revocations=revocations)
    verifier = JWTVerifier([KEY], revocations=revocations)
    pairs = [issuer.issue_pair("alice") for _ in range(12)]
    owners = {client.get_node_from_key(store.family_key(family_id(p.refresh_token))).port for p in pairs}
    assert len(owners) > 1
    second = issuer.refresh(pairs[0].refresh_token)
    assert issuer.refresh(pairs[0].refresh_token) == second  # a retry
    with pytest.raises(InvalidGrant) as reused:
        issuer.refresh(pairs[0].refresh_token, now=time.time() + 60)
    assert reused.value.reason == "reused"
    with pytest.raises(InvalidToken):
        verifier.verify(second.access_token)
    assert issuer.logout_everywhere("alice") == 12
    with pytest.raises(InvalidGrant):
        issuer.refresh(pairs[5].refresh_token)
    store.close()
    client.close()


@pytest.fixture(params=["stopped", "hung"])
def dead_port(request: pytest.FixtureRequest) -> Iterator[tuple[int, Blackhole | None]]:
    """A port where Redis is stopped (nothing listens) or hung (it accepts, never answers)."""
    if request.param == "stopped":
        yield free_port(), None
    else:
        with blackhole() as hole:
            yield hole.port, hole


def test_a_dead_redis_is_a_503_within_the_timeout(dead_port: tuple[int, Blackhole | None]) -> None:
    port, hole = dead_port
    store = RedisRefreshStore.from_url(f"redis://127.0.0.1:{port}/0", timeout=TIMEOUT)
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY)
    token = FORMAT.compose(b"\x01" * 16, b"\x02" * 32)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        issuer.refresh(token)
    assert time.monotonic() - started < TIMEOUT + SLACK
    assert caught.value.status == 503
    assert caught.value.headers == {"Retry-After": "1"}
    assert isinstance(caught.value.__cause__, StoreUnavailable)
    assert isinstance(caught.value.__cause__.__cause__, redis.RedisError)
    if hole is not None:
        assert hole.accepted == 1  # one attempt: a hung Redis is not asked twice
    with pytest.raises(StoreUnavailable):  # from the store itself: never an HTTP error
        store.families("alice")
    with pytest.raises(ServiceUnavailable):
        issuer.issue_pair("alice")
    store.close()
