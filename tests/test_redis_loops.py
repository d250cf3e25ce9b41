"""The async Redis stores keep a client per event loop, and let go of the loops closed since.

Django serves each async view under WSGI on an event loop of its own: each left a client
and an open connection behind, held forever (a client keeps its loop alive, so the weak
keys never let go): 50 requests, 50 connections.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from backendkit.auth.redis import AsyncRedisRevocations
from backendkit.idempotency.redis import AsyncRedisStore as IdempotencyStore
from backendkit.ratelimit import AsyncRedisStore as RateLimitStore
from tests.support.redis import RedisServer

pytestmark = pytest.mark.redis

STORES: dict[str, tuple[Callable[[str], Any], Callable[[Any], Awaitable[Any]]]] = {
    "rate limits": (RateLimitStore, lambda store: store.aclear(["loops:k"])),
    "revocations": (AsyncRedisRevocations, lambda store: store.ais_revoked("loops:jti", 0.0)),
    "idempotency keys": (IdempotencyStore, lambda store: store.arelease("loops:k", b"L")),
}


# The dropped clients' streams warn, when collected, that their loop is closed (a ResourceWarning,
# ignored outside tests): they are collected here, under these filters.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("kind", list(STORES))
def test_a_client_per_loop_and_none_for_closed_loops(kind: str, redis_server: RedisServer) -> None:
    make, call = STORES[kind]
    store = make(redis_server.url)

    async def once() -> None:
        await call(store)

    for _ in range(5):  # a loop per call, as Django serves async views under WSGI
        asyncio.run(once())
    assert len(store._per_loop) == 1  # the last loop's client: the others were dropped
    store._per_loop.clear()
    store._current = None  # the last loop's client, which the kernel keeps at hand for its next call
    gc.collect()
