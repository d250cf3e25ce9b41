"""``RateLimiter`` and ``AsyncRateLimiter``: policies, a store, and what to do when the store fails."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Generic, Literal, TypeVar, cast

from backendkit._deprecation import deprecated
from backendkit.errors import ConfigurationError
from backendkit.ratelimit._core.algorithms import Spec, Step, TokenBucketSpec
from backendkit.ratelimit._core.decision import Decision, DegradedDecision, PolicyState, single_policy_decider
from backendkit.ratelimit._core.policies import Policy
from backendkit.ratelimit._core.store import AsyncStore, Store
from backendkit.ratelimit._stores.memory import MemoryStore
from backendkit.stores import Breaker, StoreUnavailable
from backendkit.stores._core import check_on_store_error

logger = logging.getLogger("backendkit.ratelimit")
OnStoreError = Literal["open", "closed", "memory"]  # "memory": deprecated, fallback=MemoryStore() now


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
        fallback: Store | None = None,
    ) -> None:
        policy_list = [policies] if isinstance(policies, Policy) else list(policies)
        if not policy_list or not all(isinstance(p, Policy) for p in policy_list):
            raise TypeError("policies are TokenBucket or SlidingWindow objects")
        if on_store_error == "memory" and fallback is None:
            deprecated('on_store_error="memory"', "fallback=MemoryStore()")
            on_store_error, fallback = "open", MemoryStore()
        if fallback is not None and not callable(getattr(fallback, "apply", None)):
            raise ConfigurationError(f"fallback is a sync store that never fails (a MemoryStore), not {fallback!r}")
        self.policies = policy_list
        self.prefix = prefix
        self.on_store_error = check_on_store_error(on_store_error)
        self.fallback = fallback
        self.breaker = Breaker(retry_interval, logger=logger.name, what="the rate-limit store", store="ratelimit")
        # What the log line says a check does meanwhile.
        self._meanwhile = "counting in the fallback store" if fallback is not None else f"failing {self.on_store_error}"
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
        # A MemoryStore is both a Store and an AsyncStore.
        self.store = store if store is not None else cast(S, MemoryStore())
        # One policy: decisions straight from its step (the common case, worth its own path).
        self._decide_single = (
            single_policy_decider(self._names[0], self._limits[0], self._windows[0]) if len(self._specs) == 1 else None
        )
        # One policy in a MemoryStore: the limiter's one fast path (see _single_policy_in_memory).
        self._hit_in_memory = self._single_policy_in_memory(self.store) if isinstance(self.store, MemoryStore) else None

    def _single_policy_in_memory(self, store: MemoryStore) -> Callable[[str, int], Decision] | None:
        # One policy in a MemoryStore, which cannot fail and never awaits: the store's own
        # one-call check (key, lock, step and all), answered by the policy's decider; no
        # breaker, no key list, no Step. The cost is checked by hit, before it.
        decide = self._decide_single
        if decide is None:
            return None
        return store.check_for(self._specs[0], f"{self.prefix}{{", f"}}:{self._suffixes[0]}", decide)

    def keys(self, key: str) -> list[str]:
        """The store keys of ``key``, one per policy rate, hash-tagged so they share a Redis Cluster slot."""
        return [f"{self.prefix}{{{key}}}:{suffix}" for suffix in self._suffixes]

    def _decision(self, steps: Sequence[Step]) -> Decision:
        if self._decide_single is not None:
            allowed, remaining, reset_after, retry_after, _ = steps[0]
            return self._decide_single(allowed, remaining, reset_after, retry_after)
        return Decision.from_steps(self._names, self._limits, self._windows, steps)

    @property
    def retry_interval(self) -> float:
        """Seconds between tries of a failed store (the breaker's; settable)."""
        return self.breaker.retry_interval

    @retry_interval.setter
    def retry_interval(self, seconds: float) -> None:
        self.breaker.retry_interval = seconds

    def _store_answered(self, steps: Sequence[Step]) -> Decision:
        self.breaker.answered()
        return self._decision(steps)

    def _degraded(self, keys: list[str], cost: int, op: str) -> Decision:
        if self.fallback is not None:
            return self._decision(self.fallback.apply(keys, self._specs, cost, op))
        allowed = self.on_store_error == "open" or op != "hit"
        states = tuple(
            PolicyState(name, limit, window, limit, 0.0, None if allowed else self.retry_interval)
            for name, limit, window in zip(self._names, self._limits, self._windows, strict=True)
        )
        first = states[0]
        return DegradedDecision(
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
            (allow: the default, a rate limit is a protection, not a gate) or
            ``"closed"`` (deny, with ``Retry-After``). Never an exception.
            ``"memory"`` is the deprecated spelling of ``fallback=MemoryStore()``.
        retry_interval: Seconds between tries of a failed store: meanwhile the
            checks answer by the policy at once, and one check per interval
            tries the store again (the breaker).
        fallback: A store that counts meanwhile instead (a :class:`MemoryStore`:
            per process, so a limit is per process during the outage).

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
        fallback: Store | None = None,
    ) -> None:
        super().__init__(
            policies,
            store,
            prefix=prefix,
            on_store_error=on_store_error,
            retry_interval=retry_interval,
            fallback=fallback,
        )

    def hit(self, key: str, cost: int = 1) -> Decision:
        """Consume ``cost`` from every policy if all of them admit it."""
        if type(cost) is not int or cost < 1:
            _check_cost(cost)
        in_memory = self._hit_in_memory
        if in_memory is not None:
            return in_memory(key, cost)
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
        except StoreUnavailable as exc:
            self.breaker.failed(exc, self._meanwhile)

    def _run(self, key: str, cost: int, op: str) -> Decision:
        keys = self.keys(key)
        if self.breaker.usable():
            try:
                return self._store_answered(self.store.apply(keys, self._specs, cost, op))
            except StoreUnavailable as exc:
                self.breaker.failed(exc, self._meanwhile)
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
        if type(cost) is not int or cost < 1:
            _check_cost(cost)
        in_memory = self._hit_in_memory
        if in_memory is not None:
            return in_memory(key, cost)  # a MemoryStore never awaits
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
        except StoreUnavailable as exc:
            self.breaker.failed(exc, self._meanwhile)

    async def _run(self, key: str, cost: int, op: str) -> Decision:
        keys = self.keys(key)
        if self.breaker.usable():
            try:
                return self._store_answered(await self.store.aapply(keys, self._specs, cost, op))
            except StoreUnavailable as exc:
                self.breaker.failed(exc, self._meanwhile)
        return self._degraded(keys, cost, op)
