"""IdempotencyBegun and IdempotencyFinished from the real Idempotency, a memory store and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from backendkit.errors import ServiceUnavailable
from backendkit.idempotency import (
    Attempt,
    Idempotency,
    IdempotencyKeyInUse,
    IdempotencyKeyMismatch,
    KeyedRequest,
    MemoryStore,
    Replay,
)
from backendkit.idempotency.redis import RedisStore
from backendkit.observability import observe
from backendkit.observability._core.events import IdempotencyBegun, IdempotencyFinished, StoreFailed
from tests.support.net import free_port
from tests.support.observing import RecordingObserver
from tests.support.redis import RedisServer, redis_binary, start_redis


def keyed(body: bytes = b'{"a":1}', key: str = "k-1") -> KeyedRequest:
    return KeyedRequest("POST", "/orders", "", "application/json", body, [key])


def begun(seen: RecordingObserver) -> list[str]:
    return [e.outcome for e in seen.of(IdempotencyBegun)]


def finished(seen: RecordingObserver) -> list[str]:
    return [e.outcome for e in seen.of(IdempotencyFinished)]


@pytest.fixture
def seen() -> Iterator[RecordingObserver]:
    observer = RecordingObserver()
    with observe(observer):
        yield observer


def test_first_run_in_use_stored_replay_and_mismatch(seen: RecordingObserver) -> None:
    keys = Idempotency(MemoryStore())
    attempt = keys.start(keyed())
    assert isinstance(attempt, Attempt)
    with pytest.raises(IdempotencyKeyInUse):  # 409: the first still runs
        keys.start(keyed())
    keys.finish(attempt, 201, [("Content-Type", "application/json")], b'{"id":1}')
    assert isinstance(keys.start(keyed()), Replay)
    with pytest.raises(IdempotencyKeyMismatch):  # 422: another body under the same key
        keys.start(keyed(b'{"a":2}'))
    assert begun(seen) == ["first_run", "in_use", "replay", "mismatch"]
    assert finished(seen) == ["stored"]
    assert all(e.duration > 0 for e in [*seen.of(IdempotencyBegun), *seen.of(IdempotencyFinished)])


def test_an_abandoned_or_unstored_run_releases_its_key(seen: RecordingObserver) -> None:
    keys = Idempotency(MemoryStore())
    first = keys.start(keyed(key="k-a"))
    assert isinstance(first, Attempt)
    keys.abandon(first)
    second = keys.start(keyed(key="k-b"))
    assert isinstance(second, Attempt)
    keys.finish(second, 500, [], b"{}")  # a server error is not kept
    assert begun(seen) == ["first_run", "first_run"]
    assert finished(seen) == ["released", "released"]


def test_no_key_is_no_event(seen: RecordingObserver) -> None:
    keys = Idempotency(MemoryStore())
    assert keys.start(KeyedRequest("POST", "/orders", "", None, b"", [])) is None
    assert seen.events == []


def test_the_async_side_tells_the_same(seen: RecordingObserver) -> None:
    async def main() -> None:
        keys = Idempotency(MemoryStore())
        attempt = await keys.astart(keyed())
        assert isinstance(attempt, Attempt)
        await keys.afinish(attempt, 201, [], b"{}")
        assert isinstance(await keys.astart(keyed()), Replay)

    asyncio.run(main())
    assert begun(seen) == ["first_run", "replay"]
    assert finished(seen) == ["stored"]


@pytest.mark.redis
@pytest.mark.parametrize("policy", ["open", "closed"])
def test_a_dead_redis_is_a_store_error_open_or_closed(seen: RecordingObserver, policy: str) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    keys = Idempotency(store, on_store_error=policy)  # type: ignore[arg-type]
    try:
        for _ in range(2):  # the second is answered by the open breaker, without asking
            if policy == "closed":
                with pytest.raises(ServiceUnavailable):
                    keys.start(keyed())
            else:
                assert keys.start(keyed()) is None
    finally:
        store.close()
    assert begun(seen) == ["store_error", "store_error"]
    assert seen.of(StoreFailed) == [StoreFailed("idempotency")]


@pytest.mark.redis
def test_a_response_not_kept_is_a_finish_store_error(seen: RecordingObserver) -> None:
    server: RedisServer = start_redis(redis_binary())
    store = RedisStore(server.url)
    try:
        keys = Idempotency(store)
        attempt = keys.start(keyed())
        assert isinstance(attempt, Attempt)
        server.stop()  # Redis dies while the handler runs
        keys.finish(attempt, 201, [], b"{}")
    finally:
        store.close()
        server.stop()
    assert begun(seen) == ["first_run"]
    assert finished(seen) == ["store_error"]
    assert seen.of(StoreFailed) == [StoreFailed("idempotency")]
