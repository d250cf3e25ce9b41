"""``MemoryStore``: the idempotency store of one process, for tests, examples and single-process services."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from backendkit.stores._core.expiring import live


class MemoryStore:
    """Keys in a dict, each with its expiry; sync and async (nothing waits, so the async methods do not yield).

    Args:
        clock: Seconds, monotonic (tests pass their own).
        max_entries: Past this many keys, the oldest writes go first: a flood of keys
            cannot grow the process without bound. Expired keys are dropped as they
            are met, and two of the oldest are looked at on every write.

    Example:
        >>> store = MemoryStore()
        >>> store.begin("k", b"L" + b"0" * 96, 60_000)
        (None, 0)
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000) -> None:
        self._clock = clock
        self._max = max_entries
        self._values: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> bytes | None:
        return live(self._values, key, now)

    def _put(self, key: str, value: bytes, ttl_ms: int, now: float) -> None:
        values = self._values
        values.pop(key, None)  # (re-inserted last: the dict's order is the order of writes)
        values[key] = (value, now + ttl_ms / 1000)
        # The oldest writes first: drop the two oldest if expired, and the oldest past max_entries.
        # Constant work per write; a scan of every key, once the store was full, cost each new key
        # 1.7 to 6.8 ms at 100,000 keys, under the lock (benchmarks/idempotency_bench.py).
        for _ in range(2):
            oldest = next(iter(values))
            if values[oldest][1] > now:
                break
            del values[oldest]
        while len(values) > self._max:
            del values[next(iter(values))]

    def begin(self, key: str, lock: bytes, lock_ms: int) -> tuple[bytes | None, int]:
        """See :mod:`backendkit.idempotency._core.store`."""
        with self._lock:
            now = self._clock()
            value = self._live(key, now)
            if value is not None and value != lock:  # (our own lock: a repeated call, ours still)
                return value, max(0, round((self._values[key][1] - now) * 1000))
            if value == lock:
                return None, 0
            self._put(key, lock, lock_ms, now)
            return None, 0

    def finish(self, key: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """See :mod:`backendkit.idempotency._core.store`."""
        with self._lock:
            now = self._clock()
            value = self._live(key, now)
            if value == record:  # a repeated call
                return True
            if value is not None and value != lock:
                return False
            self._put(key, record, ttl_ms, now)
            return True

    def release(self, key: str, lock: bytes) -> None:
        """See :mod:`backendkit.idempotency._core.store`."""
        with self._lock:
            if self._live(key, self._clock()) == lock:
                del self._values[key]

    async def abegin(self, key: str, lock: bytes, lock_ms: int) -> tuple[bytes | None, int]:
        """:meth:`begin` for async code."""
        return self.begin(key, lock, lock_ms)

    async def afinish(self, key: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """:meth:`finish` for async code."""
        return self.finish(key, lock, record, ttl_ms)

    async def arelease(self, key: str, lock: bytes) -> None:
        """:meth:`release` for async code."""
        self.release(key, lock)

    def __len__(self) -> int:
        return len(self._values)


__all__ = ["MemoryStore"]
