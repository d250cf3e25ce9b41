"""``MemoryStore``: the algorithms in process memory, bounded, for one process."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TypeVar

from backendkit.ratelimit._core.algorithms import (
    EPSILON,
    Spec,
    State,
    Step,
    TokenBucketSpec,
    evaluate,
    step_function,
    ttl,
)
from backendkit.stores._core.expiring import live

_monotonic_ns = time.monotonic_ns
# Expired entries are reclaimed by the checks themselves (no thread): a check that adds a
# key looks at the NEW_KEY_SWEEP oldest entries, and the first check after every
# SWEEP_INTERVAL_US at SWEEP_BATCH of them. See MemoryStore.
NEW_KEY_SWEEP = 2
SWEEP_BATCH = 64
SWEEP_INTERVAL_US = 10_000
T = TypeVar("T")


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
    window two windows old), and expired entries are reclaimed by the checks
    themselves, with no thread: a check that adds a key looks at the two oldest
    entries, and at most every 10 ms a check looks at 64. An expired entry is
    dropped; a live one goes to the back of the line, to be looked at again after
    the others. So memory follows the keys that are live, not ``max_keys``: under
    a stream of new keys the store holds at most about twice the live ones, and
    after a burst it shrinks back while traffic continues (6,400 entries a second
    at the least). The cost is amortised O(1) per check. Checks never await, so
    they are atomic on an event loop; a lock makes them atomic across threads.
    """

    def __init__(self, *, max_keys: int = 1_000_000, clock: Callable[[], int] = monotonic_us) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self.clock = clock
        self._data: OrderedDict[str, tuple[State, int]] = OrderedDict()  # key -> (state, expires at)
        self._lock = threading.Lock()
        self._sweep_due = 0  # when a check next sweeps a batch (the clock's microseconds)

    def __len__(self) -> int:
        return len(self._data)

    def _sweep(self, now: int, budget: int) -> None:
        """Look at up to ``budget`` of the oldest entries: drop the expired, send the live to the back."""
        data = self._data
        for _ in range(min(budget, len(data))):
            key = next(iter(data))
            if data[key][1] <= now:
                del data[key]
            else:
                data.move_to_end(key)

    def _sweep_if_due(self, now: int) -> None:
        if now >= self._sweep_due:
            self._sweep_due = now + SWEEP_INTERVAL_US
            self._sweep(now, SWEEP_BATCH)

    def apply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """One atomic check over ``keys`` (see ``evaluate``)."""
        with self._lock:
            now = self.clock()
            states = [self._get(key, now) for key in keys]
            steps, new_states = evaluate(tuple(specs), states, now, cost, op)
            if new_states is not None:
                for key, spec, state in zip(keys, specs, new_states, strict=True):
                    self._put(key, spec, state, now)
            self._sweep_if_due(now)
            return steps

    def check_for(
        self, spec: Spec, head: str, tail: str, answer: Callable[[bool, int, int, int | None], T]
    ) -> Callable[[str, int], T]:
        """A one-policy limiter's check: a hit on ``f"{head}{key}{tail}"`` against ``spec`` alone, told ``answer``.

        What :meth:`apply` does for one key and ``op="hit"``, in one call: ``answer`` is
        given the step's ``allowed``, ``remaining``, ``reset_after`` and ``retry_after``
        (after the lock is released) and what it returns is the check's answer. The
        cost must be a whole number of at least 1 (the limiter checks it). Made once
        per limiter: everything constant is looked up here, not on every check.

        An admitted hit is computed right here, by the same float operations in the
        same order as :func:`~backendkit.ratelimit._core.algorithms.token_bucket` and
        :func:`~backendkit.ratelimit._core.algorithms.sliding_window` (their admitting
        branch, as the Lua script is their twin); a refused one, rare, calls the
        function itself. Calling the step function on every hit (its call, the ``Step``
        it builds, the unpacking of it) made the whole check 11-22 % slower for a
        sliding window and 27-43 % for a token bucket (case 1's loop of
        ``benchmarks/ratelimit_bench.py`` on this path and on one calling the function,
        in one process, alternating rounds, best of 15, 3 runs).
        tests/ratelimit/test_memory_hit.py holds this path to the functions' answers.
        """
        step_of = step_function(spec)
        bucket = isinstance(spec, TokenBucketSpec)
        window, limit = spec.window, spec.limit
        twice = 2 * window
        # The window and the limit as floats, for the operations that mix them with floats: Python
        # converts an int operand to the same float anyway (exactly, below 2**53), so the results are
        # the function's to the bit; float with float skips the conversion and takes the interpreter's
        # float fast paths. 4-8 % of a sliding-window check (case 1's loop, alternating, 3 runs).
        limit_f, window_f = float(limit), float(window)
        interval = spec.interval if isinstance(spec, TokenBucketSpec) else 0.0
        tolerance = interval * spec.burst if isinstance(spec, TokenBucketSpec) else 0.0
        floor, ceil = math.floor, math.ceil
        data = self._data
        get, move_to_end, popitem = data.get, data.move_to_end, data.popitem
        sweep_steps = range(NEW_KEY_SWEEP)
        sweep_if_due = self._sweep_if_due
        # acquire/release in a try: half the cost of ``with`` on a lock.
        acquire, release = self._lock.acquire, self._lock.release

        def hit(key: str, cost: int) -> T:
            key = f"{head}{key}{tail}"
            acquire()
            try:
                clock = self.clock
                now = _monotonic_ns() // 1000 if clock is monotonic_us else clock()  # the default, inlined
                entry = get(key)
                state = None if entry is None or entry[1] <= now else entry[0]
                retry_after = None
                if bucket:  # token_bucket's admitting branch
                    tat = now if state is None or state[0] < now else state[0]
                    new_tat = tat + cost * interval
                    allowed = new_tat - tolerance <= now + EPSILON
                    if allowed:
                        remaining = floor((now + tolerance - new_tat) / interval + EPSILON)
                        if remaining < 0:  # max(0, ...) without max(): 235-293 ns against 16-30 (timeit)
                            remaining = 0
                        reset_after = ceil(new_tat - now)
                        new_state: State = (new_tat,)
                else:  # sliding_window's
                    elapsed = now % window
                    start = now - elapsed
                    current = previous = 0.0
                    if state is not None:
                        if state[0] == start:
                            current, previous = state[1], state[2]
                        elif state[0] == start - window:
                            previous = state[1]
                    left = limit_f - (previous * (window_f - elapsed) / window_f + current) - cost + EPSILON
                    allowed = left >= 0.0
                    if allowed:
                        remaining = int(left)
                        reset_after = twice - elapsed  # a positive count weighs until the next window ends
                        new_state = (start, current + cost, previous)
                if allowed:
                    # An admitted hit's state matters until the policy is full again: its reset_after.
                    data[key] = (new_state, now + reset_after)
                    if entry is not None:
                        move_to_end(key)
                    else:  # only a new key adds one
                        if len(data) > self.max_keys:
                            popitem(last=False)
                        # _sweep(now, NEW_KEY_SWEEP), inlined: a memory check whose key is new (each
                        # one, when states expire between checks) costs 2.2 us instead of 2.4 us
                        # (benchmarks/ratelimit_bench.py, case 1, TokenBucket). move_to_end, not a
                        # popitem and a set: those leave holes in the dict (+40 bytes a key, case 6).
                        if len(data) > NEW_KEY_SWEEP:  # never the new key itself
                            for _ in sweep_steps:
                                oldest = next(iter(data))
                                if data[oldest][1] <= now:
                                    del data[oldest]
                                else:  # live: to the back of the line
                                    move_to_end(oldest)
                else:  # refused: the function says why; nothing is stored
                    _, remaining, reset_after, retry_after, _ = step_of(spec, state, now, cost)
                if now >= self._sweep_due:
                    sweep_if_due(now)
            finally:
                release()
            return answer(allowed, remaining, reset_after, retry_after)

        return hit

    def clear(self, keys: Sequence[str]) -> None:
        """Forget ``keys``."""
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def _get(self, key: str, now: int) -> State | None:
        return live(self._data, key, now)

    def _put(self, key: str, spec: Spec, state: State | None, now: int) -> None:
        if state is None:
            self._data.pop(key, None)
            return
        life = ttl(spec, state, now)
        if life <= 0:
            self._data.pop(key, None)
            return
        new = key not in self._data
        self._data[key] = (state, now + life)
        self._data.move_to_end(key)
        if new:
            while len(self._data) > self.max_keys:
                self._data.popitem(last=False)
            self._sweep(now, NEW_KEY_SWEEP)

    async def aapply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """:meth:`apply` for :class:`AsyncRateLimiter` (it never blocks for long: no I/O)."""
        return self.apply(keys, specs, cost, op)

    async def aclear(self, keys: Sequence[str]) -> None:
        """:meth:`clear` for :class:`AsyncRateLimiter`."""
        self.clear(keys)
