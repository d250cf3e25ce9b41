"""Revoked tokens, by ``jti``, remembered until the token would have expired anyway.

The protocol, and the in-memory store (one process; tests and single-worker
services). The Redis stores are in :mod:`backendkit.auth.redis`.
"""

from __future__ import annotations

import heapq
import threading
from typing import Protocol, runtime_checkable


@runtime_checkable
class Revocations(Protocol):
    """A revocation list checked synchronously."""

    def revoke(self, jti: str, expires_at: float, now: float) -> None:
        """Refuse the token with ``jti`` from now until ``expires_at`` (its ``exp``)."""
        ...

    def is_revoked(self, jti: str, now: float) -> bool:
        """Whether ``jti`` is revoked at ``now``."""
        ...


@runtime_checkable
class AsyncRevocations(Protocol):
    """A revocation list checked from async code."""

    async def arevoke(self, jti: str, expires_at: float, now: float) -> None:
        """See :meth:`Revocations.revoke`."""
        ...

    async def ais_revoked(self, jti: str, now: float) -> bool:
        """See :meth:`Revocations.is_revoked`."""
        ...


class MemoryRevocations:
    """Revocations in this process's memory, forgotten as they expire; usable from sync and async code.

    Example:
        >>> revoked = MemoryRevocations()
        >>> revoked.revoke("t1", expires_at=200.0, now=100.0)
        >>> revoked.is_revoked("t1", now=150.0), revoked.is_revoked("t1", now=200.0)
        (True, False)
    """

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def revoke(self, jti: str, expires_at: float, now: float) -> None:
        """See :meth:`Revocations.revoke`; a token already expired needs no entry."""
        with self._lock:
            self._forget_expired(now)
            if expires_at > now and expires_at > self._until.get(jti, 0.0):
                self._until[jti] = expires_at
                heapq.heappush(self._expiries, (expires_at, jti))

    def is_revoked(self, jti: str, now: float) -> bool:
        """See :meth:`Revocations.is_revoked`."""
        until = self._until.get(jti)
        return until is not None and now < until

    async def arevoke(self, jti: str, expires_at: float, now: float) -> None:
        """:meth:`revoke`, for async code (it does not wait on anything)."""
        self.revoke(jti, expires_at, now)

    async def ais_revoked(self, jti: str, now: float) -> bool:
        """:meth:`is_revoked`, for async code."""
        return self.is_revoked(jti, now)

    def __len__(self) -> int:
        return len(self._until)

    def _forget_expired(self, now: float) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            expires_at, jti = heapq.heappop(expiries)
            if self._until.get(jti) == expires_at:
                del self._until[jti]


__all__ = ["AsyncRevocations", "MemoryRevocations", "Revocations"]
