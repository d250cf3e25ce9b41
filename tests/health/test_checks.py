"""The ready-made checks against real parts: a redis-server of the session's own, and a port nobody listens on."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio

from backendkit.auth.redis import AsyncRedisRevocations, RedisRevocations
from backendkit.health import RAISED, Health
from backendkit.health.checks import (
    async_idempotency_check,
    async_redis_check,
    async_revocations_check,
    async_store_check,
    idempotency_check,
    redis_check,
    revocations_check,
    store_check,
)
from backendkit.idempotency import MemoryStore as IdempotencyMemoryStore
from backendkit.idempotency.redis import AsyncRedisStore as IdempotencyAsyncRedisStore
from backendkit.idempotency.redis import RedisStore as IdempotencyRedisStore
from backendkit.ratelimit import AsyncRedisStore, MemoryStore, RedisStore
from tests.support.net import free_port
from tests.support.redis import RedisServer, redis_binary, start_redis


def _only(health: Health) -> tuple[str, str | None, str | None]:
    [outcome] = health.ready().outcomes
    return outcome.result.status, outcome.result.output, outcome.result.observed_unit


async def _aonly(health: Health) -> tuple[str, str | None, str | None]:
    [outcome] = (await health.aready()).outcomes
    return outcome.result.status, outcome.result.output, outcome.result.observed_unit


# A refused connection fails at once, but the stores go again before giving up and a loaded CI
# machine stretched one such check past 0.5 s, so it read "timed out": the budget sits far above
# a refusal's length, and these tests are about the answer, not its speed.
_REFUSED = 5.0


@pytest.mark.parametrize("feature", ["ratelimit", "idempotency"])
def test_a_memory_store_answers(feature: str) -> None:
    health = Health()
    check = store_check(MemoryStore()) if feature == "ratelimit" else idempotency_check(IdempotencyMemoryStore())
    health.add(f"{feature}:responseTime", check)
    assert _only(health) == ("pass", None, "ms")


@pytest.mark.redis
def test_redis_and_its_stores_answer_or_fail_without_a_word_of_why(redis_server: RedisServer) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    for url, expected in ((redis_server.url, ("pass", None, "ms")), (dead, ("fail", RAISED, None))):
        client = redis.Redis.from_url(url, socket_timeout=0.3, socket_connect_timeout=0.3)
        store = RedisStore(url)
        revocations = RedisRevocations.from_url(url, on_store_error="open")  # open: the check still tells
        try:
            health = Health(interval=0)
            health.add("redis:responseTime", redis_check(client), timeout=_REFUSED)
            assert _only(health) == expected
            health = Health(interval=0)
            health.add("ratelimit:responseTime", store_check(store), timeout=_REFUSED)
            assert _only(health) == expected
            health = Health(interval=0)
            health.add("revocations:responseTime", revocations_check(revocations), timeout=_REFUSED)
            assert _only(health) == expected
        finally:
            client.close()
            store.close()
            revocations.close()


@pytest.mark.redis
def test_async_redis_and_its_store_answer_on_the_loop(redis_server: RedisServer) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"

    async def main(url: str) -> list[tuple[str, str | None, str | None]]:
        client = redis.asyncio.Redis.from_url(url, socket_timeout=0.3, socket_connect_timeout=0.3)
        store = AsyncRedisStore(url)
        revocations = AsyncRedisRevocations.from_url(url)
        try:
            first, second, third = Health(interval=0), Health(interval=0), Health(interval=0)
            first.add("redis:responseTime", async_redis_check(client), timeout=_REFUSED)
            second.add("ratelimit:responseTime", async_store_check(store), timeout=_REFUSED)
            third.add("revocations:responseTime", async_revocations_check(revocations), timeout=_REFUSED)
            return [await _aonly(first), await _aonly(second), await _aonly(third)]
        finally:
            await client.aclose()
            await store.aclose()
            await revocations.aclose()

    assert asyncio.run(main(redis_server.url)) == [("pass", None, "ms")] * 3
    assert asyncio.run(main(dead)) == [("fail", RAISED, None)] * 3


@pytest.mark.redis
def test_the_idempotency_store_check_passes_then_fails_when_redis_stops(redis_server: RedisServer) -> None:
    own = start_redis(redis_binary())  # a redis-server of this test's own, stopped half way
    store = IdempotencyRedisStore(own.url)
    health = Health(interval=0)
    health.add("idempotency:responseTime", idempotency_check(store), timeout=_REFUSED)
    try:
        assert _only(health) == ("pass", None, "ms")
        inspect = redis.Redis.from_url(own.url)
        assert inspect.dbsize() == 0  # the probe leaves nothing behind
        inspect.close()
        own.stop()
        assert _only(health) == ("fail", RAISED, None)
    finally:
        store.close()
        own.stop()


@pytest.mark.redis
def test_the_async_idempotency_store_check_passes_then_fails_when_redis_stops(redis_server: RedisServer) -> None:
    own = start_redis(redis_binary())

    async def main() -> list[tuple[str, str | None, str | None]]:
        store = IdempotencyAsyncRedisStore(own.url)
        health = Health(interval=0)
        health.add("idempotency:responseTime", async_idempotency_check(store), timeout=_REFUSED)
        try:
            before = await _aonly(health)
            own.stop()
            return [before, await _aonly(health)]
        finally:
            await store.aclose()

    try:
        assert asyncio.run(main()) == [("pass", None, "ms"), ("fail", RAISED, None)]
    finally:
        own.stop()
