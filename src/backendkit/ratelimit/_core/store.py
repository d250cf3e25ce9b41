"""What a store does for a limiter, sync and async: apply one check to the keys of its policies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from backendkit.ratelimit._core.algorithms import Spec, Step
from backendkit.stores._core import StoreUnavailable

StoreError = StoreUnavailable
"""The store could not answer (Redis down, timed out...): :class:`backendkit.stores.StoreUnavailable`."""


class Store(Protocol):
    """A synchronous store: one atomic step for all of a check's keys."""

    def apply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """Run :func:`~backendkit.ratelimit._core.algorithms.evaluate` on ``keys`` atomically."""
        ...

    def clear(self, keys: Sequence[str]) -> None:
        """Forget ``keys``."""
        ...


class AsyncStore(Protocol):
    """The asyncio twin of :class:`Store` (``aapply``, ``aclear``: a store may be both)."""

    async def aapply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """Run :func:`~backendkit.ratelimit._core.algorithms.evaluate` on ``keys`` atomically."""
        ...

    async def aclear(self, keys: Sequence[str]) -> None:
        """Forget ``keys``."""
        ...
