"""A three-primary Redis Cluster: multi-policy checks work, stay one round trip, and survive SCRIPT FLUSH."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.cluster
from redis.backoff import NoBackoff
from redis.retry import Retry

from backendkit.errors import ConfigurationError
from backendkit.ratelimit import (
    AsyncRateLimiter,
    AsyncRedisStore,
    RateLimiter,
    RedisStore,
    SlidingWindow,
    TokenBucket,
)
from tests.support.redis import RedisCluster

POLICIES = [TokenBucket("5/second", burst=4), SlidingWindow("6/minute"), SlidingWindow("100/day")]


# A store waits at most 0.25 s on Redis; a Cluster client must bound its own waits (a store
# cannot copy one), and says so at start-up when it does not.
BOUNDED: dict[str, Any] = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25, "retry": Retry(NoBackoff(), 0)}
# An asyncio client takes the asyncio Retry (redis-py 8.2 warns about a synchronous one).
ASYNC_BOUNDED: dict[str, Any] = {**BOUNDED, "retry": redis.asyncio.retry.Retry(NoBackoff(), 0)}


def cluster_client(cluster: RedisCluster) -> redis.cluster.RedisCluster:
    nodes = [redis.cluster.ClusterNode(h, p) for h, p in cluster.startup_nodes]
    return redis.cluster.RedisCluster(startup_nodes=nodes, **BOUNDED)


def node_clients(cluster: RedisCluster) -> list[redis.Redis]:
    return [redis.Redis(host=n.host, port=n.port) for n in cluster.nodes]


def evalsha_calls(nodes: list[redis.Redis]) -> int:
    return sum(int(n.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)) for n in nodes)


def test_multi_policy_checks_on_a_cluster_are_one_round_trip(redis_cluster: RedisCluster) -> None:
    nodes = node_clients(redis_cluster)
    client = cluster_client(redis_cluster)
    limiter = RateLimiter(POLICIES, RedisStore(client), prefix="cl:", on_store_error="closed")
    users = [f"user-{i}" for i in range(12)]
    limiter.hit("warm-up")  # the first NOSCRIPT loads the script on every primary; count from then on
    for node in nodes:
        node.config_resetstat()
    admitted = {user: sum(limiter.hit(user).allowed for _ in range(6)) for user in users}
    assert admitted == dict.fromkeys(users, 4)  # the burst of 4 is the tightest; nothing else consumed
    assert evalsha_calls(nodes) == 6 * len(users)  # one EVALSHA per check, whatever the number of policies
    # The keys of one check share a slot, so one node holds all three, each with a TTL.
    holders = {user: [n for n in nodes if n.keys(f"cl:{{{user}}}:*")] for user in users}
    assert all(len(found) == 1 for found in holders.values())
    assert len({found[0].connection_pool.connection_kwargs["port"] for found in holders.values()}) > 1  # spread
    for user, [node] in holders.items():
        keys = node.keys(f"cl:{{{user}}}:*")
        assert len(keys) == 3
        assert all(node.pttl(k) > 0 for k in keys)
    client.close()
    for node in nodes:
        node.close()


def test_script_flush_on_every_node_is_no_error(redis_cluster: RedisCluster) -> None:
    nodes = node_clients(redis_cluster)
    client = cluster_client(redis_cluster)
    limiter = RateLimiter(POLICIES, RedisStore(client), prefix="flush:", on_store_error="closed")
    assert limiter.hit("f").allowed
    for node in nodes:
        node.script_flush()
    assert [limiter.hit("f").allowed for _ in range(4)] == [True, True, True, False]
    client.close()
    for node in nodes:
        node.close()


def test_the_async_store_on_a_cluster(redis_cluster: RedisCluster) -> None:
    nodes = node_clients(redis_cluster)

    async def main() -> dict[str, int]:
        client: Any = redis.asyncio.cluster.RedisCluster(
            startup_nodes=[redis.asyncio.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes],
            **ASYNC_BOUNDED,
        )
        store = AsyncRedisStore(client)
        limiter = AsyncRateLimiter(POLICIES, store, prefix="acl:", on_store_error="closed")
        try:
            await limiter.hit("warm-up")
            for node in nodes:
                node.config_resetstat()
            results = {}
            for user in ("a", "b", "c", "d"):
                decisions = await asyncio.gather(*(limiter.hit(user) for _ in range(10)))
                results[user] = sum(d.allowed for d in decisions)
            return results
        finally:
            await store.aclose()
            await client.aclose()  # the application's client: the store's aclose leaves it open

    assert asyncio.run(main()) == {"a": 4, "b": 4, "c": 4, "d": 4}
    assert evalsha_calls(nodes) == 40
    for node in nodes:
        node.close()


def test_a_cluster_client_that_could_wait_longer_is_refused_at_start_up(redis_cluster: RedisCluster) -> None:
    nodes = [redis.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes]
    unbounded = redis.cluster.RedisCluster(startup_nodes=nodes)  # no timeouts, retries with back-off
    with pytest.raises(ConfigurationError, match=r"socket_timeout=0\.25, socket_connect_timeout=0\.25"):
        RedisStore(unbounded)
    unbounded.close()
