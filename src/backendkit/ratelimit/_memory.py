"""``MemoryStore``: the algorithms in process memory, bounded, for one process."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from backendkit.ratelimit._algorithms import Spec, State, Step, evaluate, step_function, ttl

_monotonic_ns = time.monotonic_ns


def monotonic_us() -> int:
    """The monotonic clock in microseconds (never goes back, unlike the wall clock)."""
    return _monotonic_ns() // 1000


class MemoryStore:
    """Rate-limit state in a dict: thread-safe, asyncio-safe, O(1) per check, bounded.

    Args:
        max_keys: The most keys kept; past it the least recently used is dropped
            (forgetting a key only ever lets a client through sooner).
        clock: Microseconds from a monotonic clock; injectable for tests.

    Each key's state expires when it no longer matters (a refilled bucket, a
    window two windows old), so idle keys cost nothing. Checks never await,
    so they are atomic on an event loop; a lock makes them atomic across threads.
    """

    def __init__(self, *, max_keys: int = 1_000_000, clock: Callable[[], int] = monotonic_us) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self.clock = clock
        self._data: OrderedDict[str, tuple[State, int]] = OrderedDict()  # key -> (state, expires at)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def apply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """One atomic check over ``keys`` (see ``evaluate``)."""
        with self._lock:
            now = self.clock()
            states = [self._get(key, now) for key in keys]
            steps, new_states = evaluate(tuple(specs), states, now, cost, op)
            if new_states is not None:
                for key, spec, state in zip(keys, specs, new_states, strict=True):
                    self._put(key, spec, state, now)
            return steps

    def hitter(self, spec: Spec) -> Callable[[str, int], Step]:
        """Hits on one key and one policy: what :meth:`apply` does for them, with less bookkeeping.

        Made once per limiter: the policy's step function and the store's dict
        are looked up here rather than on every check.
        """
        step_of = step_function(spec)
        data = self._data
        move_to_end = data.move_to_end
        # acquire/release in a try: half the cost of ``with`` on a lock.
        acquire, release = self._lock.acquire, self._lock.release

        def hit(key: str, cost: int) -> Step:
            acquire()
            try:
                clock = self.clock
                now = _monotonic_ns() // 1000 if clock is monotonic_us else clock()  # the default, inlined
                entry = data.get(key)
                step = step_of(spec, None if entry is None or entry[1] <= now else entry[0], now, cost)
                if step[0]:
                    # An admitted hit's state matters until the policy is full again: its reset_after.
                    data[key] = (step[4], now + step[2])
                    if entry is not None:
                        move_to_end(key)
                    elif len(data) > self.max_keys:  # only a new key adds one
                        data.popitem(last=False)
            finally:
                release()
            return step

        return hit

    def clear(self, keys: Sequence[str]) -> None:
        """Forget ``keys``."""
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def _get(self, key: str, now: int) -> State | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._data[key]
            return None
        return entry[0]

    def _put(self, key: str, spec: Spec, state: State | None, now: int) -> None:
        if state is None:
            self._data.pop(key, None)
            return
        life = ttl(spec, state, now)
        if life <= 0:
            self._data.pop(key, None)
            return
        self._data[key] = (state, now + life)
        self._data.move_to_end(key)
        while len(self._data) > self.max_keys:
            self._data.popitem(last=False)

    async def aapply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """:meth:`apply` for :class:`AsyncRateLimiter` (it never blocks for long: no I/O)."""
        return self.apply(keys, specs, cost, op)

    async def aclear(self, keys: Sequence[str]) -> None:
        """:meth:`clear` for :class:`AsyncRateLimiter`."""
        self.clear(keys)
