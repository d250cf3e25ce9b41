"""What a review of the kernel found, each with the scenario that showed it (issue 20)."""

from __future__ import annotations

import asyncio
import sys
import threading
import warnings
from collections import Counter

import pytest
import redis.asyncio
import redis.asyncio.retry
from redis.backoff import NoBackoff

from backendkit.auth.redis import AsyncRedisRevocations, RedisRevocations
from backendkit.errors import APIError, ConfigurationError
from backendkit.idempotency import Attempt, Idempotency, KeyedRequest, MemoryStore, Replay, StoreUnavailable
from backendkit.idempotency.redis import AsyncRedisStore as AsyncIdempotencyStore
from backendkit.ratelimit import AsyncRateLimiter, AsyncRedisStore, Limit, RateLimiter, SlidingWindow
from tests.support.redis import RedisServer

pytestmark = pytest.mark.usefixtures("collected")  # (tests/conftest.py: warnings recorded here are theirs)


class _BlipOnce(MemoryStore):
    """A store whose next ``begin`` fails once (a network blip), then answers as usual."""

    blip = False

    def begin(self, key: str, lock: bytes, lock_ms: int) -> tuple[bytes | None, int]:
        if self.blip:
            self.blip = False
            raise StoreUnavailable("blip")
        return super().begin(key, lock, lock_ms)


def test_a_request_holding_its_key_keeps_its_response_while_the_breaker_is_open() -> None:
    store = _BlipOnce()
    keys = Idempotency(store)
    pay = KeyedRequest("POST", "/pay", "", "application/json", b'{"eur": 5}', ['"k1"'], user_id="ann")
    other = KeyedRequest("POST", "/pay", "", "application/json", b'{"eur": 7}', ['"k2"'], user_id="bob")
    attempt = keys.start(pay)
    assert isinstance(attempt, Attempt)
    store.blip = True
    with pytest.raises(APIError) as refused:
        keys.start(other)  # one blip on another request: 503, and the breaker opens
    assert refused.value.status == 503
    keys.finish(attempt, 201, [("Content-Type", "application/json")], b'{"id": 1}')
    keys.breaker.clock = lambda: float("inf")  # (later: the breaker lets requests try the store again)
    retry = keys.start(pay)
    assert isinstance(retry, Replay)  # kept: the retry is answered, the payment does not run again
    assert retry.response.status == 201


def _bounded(port: int) -> redis.asyncio.Redis:
    return redis.asyncio.Redis(
        port=port, socket_timeout=0.25, socket_connect_timeout=0.25, retry=redis.asyncio.retry.Retry(NoBackoff(), 0)
    )


def test_an_applications_asyncio_client_serves_one_loop_and_is_copied_for_the_others(
    redis_server: RedisServer,
) -> None:
    client = _bounded(redis_server.port)
    store = AsyncRedisStore(client)
    limiter = AsyncRateLimiter(SlidingWindow("100/minute"), store)

    async def hit() -> tuple[bool, object]:
        decision = await limiter.hit("a")
        used = store.client
        await store.aclose()  # closes a copy; never the application's client
        if used is client:
            await client.aclose()  # the application closes its own, on its loop
        return decision.allowed, used

    answers = [asyncio.run(hit()) for _ in range(3)]  # three loops, one after the other
    assert [allowed for allowed, _ in answers] == [True, True, True]
    assert answers[0][1] is client
    assert answers[1][1] is not client
    assert answers[2][1] is not client


def test_loops_of_many_threads_get_their_clients_without_tripping_over_each_other() -> None:
    store = AsyncIdempotencyStore("redis://127.0.0.1:1/0")  # no connection is made: only clients are built
    errors: Counter[str] = Counter()
    loops: list[asyncio.AbstractEventLoop] = []  # kept alive, as live connections keep them in a service

    async def touch() -> None:
        loops.append(asyncio.get_running_loop())
        assert store.client is not None

    def worker() -> None:
        for _ in range(150):
            try:
                asyncio.run(touch())
            except Exception as exc:
                errors[type(exc).__name__] += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == Counter()


OLD_SPELLINGS = {
    "RateLimiter memory": lambda: RateLimiter(SlidingWindow("1/second"), on_store_error="memory"),
    "AsyncRateLimiter memory": lambda: AsyncRateLimiter(SlidingWindow("1/second"), on_store_error="memory"),
    "Limit memory": lambda: Limit("1/second", on_store_error="memory"),
    "Idempotency on_error": lambda: Idempotency(MemoryStore(), on_error="open"),
    "RedisRevocations on_error": lambda: RedisRevocations("redis://127.0.0.1:1/0", on_error="open"),
    "RedisRevocations.from_url on_error": lambda: RedisRevocations.from_url("redis://127.0.0.1:1/0", on_error="open"),
    "AsyncRedisRevocations on_error": lambda: AsyncRedisRevocations("redis://127.0.0.1:1/0", on_error="open"),
}


@pytest.mark.parametrize("spelling", list(OLD_SPELLINGS))
def test_an_old_spelling_warns_once_at_the_callers_line(spelling: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        OLD_SPELLINGS[spelling]()
    assert [w.category for w in caught] == [DeprecationWarning]
    assert caught[0].filename == __file__  # not a line of backendkit's, which filters would hide


def test_renamed_attributes_still_read_and_write_with_a_warning() -> None:
    keys = Idempotency(MemoryStore(), on_store_error="open")
    revoked = RedisRevocations("redis://127.0.0.1:1/0", on_store_error="open")
    for holder in (keys, revoked):
        with pytest.warns(DeprecationWarning, match="use on_store_error"):
            assert holder.on_error == "open"  # type: ignore[attr-defined]
        with pytest.warns(DeprecationWarning, match="use on_store_error"):
            holder.on_error = "closed"  # type: ignore[attr-defined]
        assert holder.on_store_error == "closed"
    revoked.close()


def test_a_limiters_retry_interval_can_be_set_and_is_checked() -> None:
    limiter = RateLimiter(SlidingWindow("1/second"))
    limiter.retry_interval = 5
    assert limiter.breaker.retry_interval == 5
    with pytest.raises(ConfigurationError):
        limiter.retry_interval = -1
