"""What an idempotency store does: three atomic operations on one key. Pure (a protocol).

- ``begin(key, lock, lock_ms)``: if ``key`` holds a value, answer it (and how many
  milliseconds it has left); otherwise set it to ``lock`` for ``lock_ms`` and answer
  ``None``. One atomic step: of two requests with the same key, one gets ``None``.
- ``finish(key, lock, record, ttl_ms)``: replace our ``lock`` with ``record`` for
  ``ttl_ms``; nothing when another request's lock has replaced ours (ours expired).
- ``release(key, lock)``: delete the key if it still holds our ``lock``.

Each is safe to repeat (a store may retry a call whose connection broke): ``begin``
answers ``None`` for our own lock, ``finish`` succeeds on our own record.

A store that cannot answer raises :class:`StoreUnavailable` (the store kernel's
one error, :class:`backendkit.stores.StoreUnavailable`); the ``on_store_error``
policy of :class:`~backendkit.idempotency.Idempotency` decides what the request gets.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from backendkit.stores._core import StoreUnavailable


@runtime_checkable
class IdempotencyStore(Protocol):
    """A store for sync code."""

    def begin(self, key: str, lock: bytes, lock_ms: int) -> tuple[bytes | None, int]:
        """See the module's docstring."""
        ...

    def finish(self, key: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """See the module's docstring."""
        ...

    def release(self, key: str, lock: bytes) -> None:
        """See the module's docstring."""
        ...


@runtime_checkable
class AsyncIdempotencyStore(Protocol):
    """A store for async code."""

    async def abegin(self, key: str, lock: bytes, lock_ms: int) -> tuple[bytes | None, int]:
        """See the module's docstring."""
        ...

    async def afinish(self, key: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """See the module's docstring."""
        ...

    async def arelease(self, key: str, lock: bytes) -> None:
        """See the module's docstring."""
        ...


def not_a_store(store: Any) -> str:
    """Why ``store`` is refused; a rate-limit store, named like an idempotency one, by both import paths."""
    kind = type(store)
    if kind.__module__.startswith("backendkit.ratelimit"):
        home = "backendkit.idempotency.redis" if "Redis" in kind.__name__ else "backendkit.idempotency"
        return (
            f"backendkit.ratelimit.{kind.__name__} is a rate-limit store; idempotency keys need "
            f"{home}.{kind.__name__}, which shares its name: from {home} import {kind.__name__}"
        )
    return (
        f"{store!r} is not an idempotency store; use backendkit.idempotency.MemoryStore, or RedisStore or "
        "AsyncRedisStore from backendkit.idempotency.redis"
    )


__all__ = ["AsyncIdempotencyStore", "IdempotencyStore", "StoreUnavailable", "not_a_store"]
