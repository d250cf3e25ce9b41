"""``RateLimiter`` and ``AsyncRateLimiter``: policies, a store, and what to do when the store fails."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, Literal, TypeVar, cast

from backendkit.ratelimit._algorithms import Spec, Step, TokenBucketSpec
from backendkit.ratelimit._decision import Decision, PolicyState, single_policy_decider
from backendkit.ratelimit._memory import MemoryStore
from backendkit.ratelimit._policies import Policy
from backendkit.ratelimit._store import AsyncStore, Store, StoreError

logger = logging.getLogger("backendkit.ratelimit")
OnStoreError = Literal["open", "closed", "memory"]


S = TypeVar("S", Store, AsyncStore)


class _Limiter(Generic[S]):
    """What the sync and async limiters share: everything but the call to the store."""

    store: S

    def __init__(
        self,
        policies: Policy | Sequence[Policy],
        store: S | None = None,
        *,
        prefix: str = "rl:",
        on_store_error: OnStoreError = "open",
        retry_interval: float = 1.0,
    ) -> None:
        policy_list = [policies] if isinstance(policies, Policy) else list(policies)
        if not policy_list or not all(isinstance(p, Policy) for p in policy_list):
            raise TypeError("policies are TokenBucket or SlidingWindow objects")
        if on_store_error not in ("open", "closed", "memory"):
            raise ValueError(f"on_store_error is 'open', 'closed' or 'memory', not {on_store_error!r}")
        self.policies = policy_list
        self.prefix = prefix
        self.on_store_error = on_store_error
        self.retry_interval = retry_interval
        self._specs: tuple[Spec, ...] = tuple(spec for p in policy_list for spec in p.specs())
        self._names = [name for p in policy_list for name in p.names()]
        # A token bucket's quota is its capacity (the burst), what "remaining" counts down from.
        self._limits = [spec.burst if isinstance(spec, TokenBucketSpec) else spec.limit for spec in self._specs]
        self._windows = [rate.window for p in policy_list for rate in p.rates]
        kinds = [p.kind for p in policy_list for _ in p.rates]
        self._suffixes = [
            f"{kind}:{rate.amount}:{rate.window}"
            for kind, rate in zip(kinds, [r for p in policy_list for r in p.rates], strict=True)
        ]
        self._fallback = MemoryStore() if on_store_error == "memory" else None
        self._down_until: float | None = None  # the breaker: skip the store until then
        self._probing = threading.Lock()  # held only to decide which check tries a failed store again
        # A MemoryStore is both a Store and an AsyncStore.
        self.store = store if store is not None else cast(S, MemoryStore())
        # One policy: decisions straight from its step (the common case, worth its own path).
        self._decide_single = (
            single_policy_decider(self._names[0], self._limits[0], self._windows[0]) if len(self._specs) == 1 else None
        )
        # One policy in a MemoryStore: the limiter's one fast path (see _single_policy_in_memory).
        self._hit_in_memory = self._single_policy_in_memory(self.store) if isinstance(self.store, MemoryStore) else None

    def _single_policy_in_memory(self, store: MemoryStore) -> Callable[[str, int], Decision] | None:
        # One policy in a MemoryStore, which cannot fail and never awaits: hits without the
        # general bookkeeping, everything constant per limiter looked up once, here.
        decide = self._decide_single
        if decide is None:
            return None
        check = store.check_for(self._specs[0])
        head, tail = f"{self.prefix}{{", f"}}:{self._suffixes[0]}"

        def hit(key: str, cost: int) -> Decision:
            if type(cost) is not int or cost < 1:
                _check_cost(cost)
            return decide(check(f"{head}{key}{tail}", cost))

        return hit

    def keys(self, key: str) -> list[str]:
        """The store keys of ``key``, one per policy rate, hash-tagged so they share a Redis Cluster slot."""
        return [f"{self.prefix}{{{key}}}:{suffix}" for suffix in self._suffixes]

    def _decision(self, steps: Sequence[Step]) -> Decision:
        if self._decide_single is not None:
            return self._decide_single(steps[0])
        return Decision.from_steps(self._names, self._limits, self._windows, steps)

    def _store_usable(self) -> bool:
        if self._down_until is None:  # the common case, without a lock
            return True
        now = time.monotonic()
        with self._probing:
            down_until = self._down_until
            if down_until is None:
                return True
            if now < down_until:
                return False
            # Half open: this check tries the store again; every other one keeps to the
            # failure path until it has answered (or the next interval), so a dead store
            # delays at most one check per retry_interval.
            self._down_until = now + self.retry_interval
            return True

    def _store_failed(self, exc: Exception) -> None:
        if self._down_until is None:
            logger.warning("rate-limit store unavailable (%s); failing %s", exc, self.on_store_error)
        self._down_until = time.monotonic() + self.retry_interval

    def _store_answered(self, steps: Sequence[Step]) -> Decision:
        if self._down_until is not None:
            self._down_until = None
            logger.warning("rate-limit store available again")
        return self._decision(steps)

    def _degraded(self, keys: list[str], cost: int, op: str) -> Decision:
        if self._fallback is not None:
            return self._decision(self._fallback.apply(keys, self._specs, cost, op))
        allowed = self.on_store_error == "open" or op != "hit"
        states = tuple(
            PolicyState(name, limit, window, limit, 0.0, None if allowed else self.retry_interval)
            for name, limit, window in zip(self._names, self._limits, self._windows, strict=True)
        )
        first = states[0]
        return Decision(
            allowed,
            first.limit,
            first.remaining if allowed else 0,
            0.0,
            None if allowed else self.retry_interval,
            states,
        )


def _check_cost(cost: int) -> int:
    if not isinstance(cost, int) or isinstance(cost, bool) or cost < 1:
        raise ValueError(f"cost must be a positive whole number, not {cost!r}")
    return cost


class RateLimiter(_Limiter[Store]):
    """Checks ``key`` against every policy at once: all-or-nothing, one store call.

    Args:
        policies: One policy or several (``TokenBucket``, ``SlidingWindow``).
        store: Where state lives; a new :class:`MemoryStore` by default.
        prefix: Prepended to every store key.
        on_store_error: What a check answers when the store fails: ``"open"``
            (allow), ``"closed"`` (deny) or ``"memory"`` (count in a local
            MemoryStore meanwhile). Never an exception.
        retry_interval: Seconds between attempts to use a failed store again.

    Example:
        >>> from backendkit.ratelimit import RateLimiter, SlidingWindow
        >>> limiter = RateLimiter(SlidingWindow("2/minute"))
        >>> sum(limiter.hit("ann").allowed for _ in range(3))  # two of three pass
        2
    """

    def __init__(
        self,
        policies: Policy | Sequence[Policy],
        store: Store | None = None,
        *,
        prefix: str = "rl:",
        on_store_error: OnStoreError = "open",
        retry_interval: float = 1.0,
    ) -> None:
        super().__init__(policies, store, prefix=prefix, on_store_error=on_store_error, retry_interval=retry_interval)

    def hit(self, key: str, cost: int = 1) -> Decision:
        """Consume ``cost`` from every policy if all of them admit it."""
        if self._hit_in_memory is not None:
            return self._hit_in_memory(key, cost)
        if type(cost) is not int or cost < 1:
            _check_cost(cost)
        return self._run(key, cost, "hit")

    def peek(self, key: str) -> Decision:
        """What a hit of cost 1 would be told, consuming nothing."""
        return self._run(key, 1, "peek")

    def refund(self, key: str, cost: int = 1) -> Decision:
        """Give ``cost`` back (a request that turned out not to count)."""
        return self._run(key, _check_cost(cost), "refund")

    def reset(self, key: str) -> None:
        """Forget everything about ``key``."""
        try:
            self.store.clear(self.keys(key))
        except StoreError as exc:
            self._store_failed(exc)

    def _run(self, key: str, cost: int, op: str) -> Decision:
        keys = self.keys(key)
        if self._store_usable():
            try:
                return self._store_answered(self.store.apply(keys, self._specs, cost, op))
            except StoreError as exc:
                self._store_failed(exc)
        return self._degraded(keys, cost, op)


class AsyncRateLimiter(_Limiter[AsyncStore]):
    """:class:`RateLimiter` for asyncio code: the store is awaited, never blocks the loop.

    Example:
        >>> import asyncio
        >>> from backendkit.ratelimit import AsyncRateLimiter, TokenBucket
        >>> limiter = AsyncRateLimiter(TokenBucket("1/second", burst=2))
        >>> asyncio.run(limiter.hit("ann")).remaining
        1
    """

    async def hit(self, key: str, cost: int = 1) -> Decision:
        """Consume ``cost`` from every policy if all of them admit it."""
        if self._hit_in_memory is not None:
            return self._hit_in_memory(key, cost)  # a MemoryStore never awaits
        if type(cost) is not int or cost < 1:
            _check_cost(cost)
        return await self._run(key, cost, "hit")

    async def peek(self, key: str) -> Decision:
        """What a hit of cost 1 would be told, consuming nothing."""
        return await self._run(key, 1, "peek")

    async def refund(self, key: str, cost: int = 1) -> Decision:
        """Give ``cost`` back (a request that turned out not to count)."""
        return await self._run(key, _check_cost(cost), "refund")

    async def reset(self, key: str) -> None:
        """Forget everything about ``key``."""
        try:
            await self.store.aclear(self.keys(key))
        except StoreError as exc:
            self._store_failed(exc)

    async def _run(self, key: str, cost: int, op: str) -> Decision:
        keys = self.keys(key)
        if self._store_usable():
            try:
                return self._store_answered(await self.store.aapply(keys, self._specs, cost, op))
            except StoreError as exc:
                self._store_failed(exc)
        return self._degraded(keys, cost, op)
