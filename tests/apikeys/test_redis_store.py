"""``RedisKeyStore`` beyond the shared table: what it sends, what it keeps, and on a Redis Cluster.

Counted, not timed: a verifier's miss is one ``HGETALL`` on the server and each
change one ``EVALSHA`` (``INFO commandstats``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.cluster
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

from backendkit.apikeys import APIKeys, KeyRecord
from backendkit.apikeys.redis import DEFAULT_PREFIX, RedisKeyStore
from backendkit.errors import ConfigurationError
from tests.support.redis import RedisCluster, RedisServer

pytestmark = pytest.mark.redis
NOW = 1_800_000_000.0
BOUNDED: dict[str, Any] = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25, "retry": Retry(NoBackoff(), 0)}


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    made = redis.Redis(host=redis_server.host, port=redis_server.port, **BOUNDED)
    yield made
    made.close()


@pytest.fixture
def store(client: redis.Redis) -> Iterator[RedisKeyStore]:
    made = RedisKeyStore(client, prefix=f"test:{uuid.uuid4().hex[:8]}:")
    yield made
    made.close()


def calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    counted = {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}
    return {name: n for name, n in counted.items() if name not in ("info", "config|resetstat")}


def test_a_miss_is_one_hgetall_and_each_change_one_script(client: redis.Redis, store: RedisKeyStore) -> None:
    keys = APIKeys(store, prefix="bk_test_", clock=lambda: NOW)
    made = keys.create("alice", roles=["viewer"])
    verifier = keys.verifier(cache_ttl=5)
    store.touch("elsewhere", NOW)  # the script loaded once (the first EVALSHA of a script is a NOSCRIPT)
    client.config_resetstat()
    verifier.verify(made.key, now=NOW)  # a miss, and last_used_at due: one read, one write
    verifier.verify(made.key, now=NOW + 1)  # from the cache: nothing sent
    assert calls(client) == {"hgetall": 1, "evalsha": 1, "exists": 1, "hset": 1}  # (the script's own, inside)
    for key_id in ("elsewhere", made.record.id):  # the scripts loaded, then counted
        client.config_resetstat()
        store.revoke(key_id, NOW)
        store.rotate(key_id, KeyRecord(id=f"{key_id}-next", digest="00", owner="alice"), NOW + 10)
        store.touch(key_id, NOW)
    sent = calls(client)
    assert sent.pop("evalsha") == 3
    assert "script|load" not in sent
    assert "hgetall" not in sent


def test_a_record_holds_a_digest_never_the_key(client: redis.Redis, store: RedisKeyStore) -> None:
    made = APIKeys(store, prefix="bk_test_").create("alice", name="CI")
    held = client.hgetall(store.key(made.record.id))
    assert held[b"digest"] == made.record.digest.encode()
    secret = made.key.encode()[-49:]
    assert not any(secret[:20] in value for value in held.values())
    assert b"last_used_at" not in held  # a field that is None is absent


def test_every_key_of_a_store_shares_one_hash_slot(client: redis.Redis, store: RedisKeyStore) -> None:
    keys = APIKeys(store)
    for owner in ("alice", "{bob}", "carol:x"):
        keys.create(owner)
    names = client.keys(f"{store.prefix}*")
    assert len(names) == 3 + 3 + 1  # three records, three owner indexes, the index of every key
    slots = {key_slot(name) for name in names}
    assert len(slots) == 1
    assert {name.decode() for name in names} >= {f"{store.prefix}{{k}}:owner:{{bob}}", f"{store.prefix}{{k}}:keys"}


def test_an_add_sent_again_after_a_lost_reply_is_not_a_taken_id(store: RedisKeyStore) -> None:
    kept = KeyRecord(id="k1", digest="ab" * 32, owner="alice", created_at=NOW)
    store.add(kept)
    store.add(kept)  # the same record again: the first try's reply was lost
    with pytest.raises(ValueError, match="taken"):
        store.add(KeyRecord(id="k1", digest="cd" * 32, owner="alice", created_at=NOW))
    assert store.list() == [kept]


def test_the_scripts_come_back_after_a_flush(client: redis.Redis, store: RedisKeyStore) -> None:
    store.add(KeyRecord(id="k1", digest="ab" * 32, owner="alice", created_at=NOW))
    client.script_flush()
    assert store.revoke("k1", NOW) is True
    assert store.get("k1") is not None
    assert store.get("k1").revoked_at == NOW  # type: ignore[union-attr]


def test_a_long_list_is_read_in_batches(store: RedisKeyStore) -> None:
    for i in range(1203):
        store.add(KeyRecord(id=f"k{i:05d}", digest="ab" * 32, owner="busy", created_at=NOW + i))
    listed = store.list("busy")
    assert [record.id for record in listed] == [f"k{i:05d}" for i in range(1203)]


@pytest.mark.parametrize("prefix", ["app{x}:", "a}", 42])
def test_a_prefix_with_braces_is_refused(prefix: Any, redis_server: RedisServer) -> None:
    with pytest.raises(ConfigurationError, match="prefix"):
        RedisKeyStore(redis_server.url, prefix=prefix)


def test_the_defaults(redis_server: RedisServer) -> None:
    store = RedisKeyStore.from_url(redis_server.url)
    assert store.prefix == DEFAULT_PREFIX == "backendkit:apikeys:"
    assert store.on_store_error == "closed"
    assert store.timeout == 0.25
    store.close()
    with pytest.raises(ConfigurationError):
        RedisKeyStore.from_url("http://not-redis")
    with pytest.raises(ConfigurationError):
        RedisKeyStore(redis_server.url, on_store_error="maybe")  # type: ignore[arg-type]


def test_a_redis_cluster_keeps_keys_like_one_server(redis_cluster: RedisCluster) -> None:
    nodes = [redis.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes]
    client = redis.cluster.RedisCluster(startup_nodes=nodes, **BOUNDED)
    store = RedisKeyStore(client, prefix="cluster:")
    keys = APIKeys(store, prefix="bk_test_")
    made = [keys.create(owner, scopes=["tasks:read"]) for owner in ("alice", "bob", "alice")]
    verifier = keys.verifier(cache_ttl=0)
    assert [verifier.verify(m.key).subject for m in made] == ["alice", "bob", "alice"]
    assert [r.id for r in keys.list("alice")] == [made[0].record.id, made[2].record.id]
    rotated = keys.rotate(made[0].record.id, grace=0)
    assert keys.revoke(made[1].record.id) is True
    with pytest.raises(Exception, match="invalid"):
        verifier.verify(made[1].key)
    assert verifier.verify(rotated.key).subject == "alice"
    assert len(keys.list()) == 4
    store.close()
    client.close()
