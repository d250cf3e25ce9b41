"""Where refresh-token families are kept: the protocol, and the store in this process's memory.

A store runs :func:`~backendkit.auth._core.refresh.decide` atomically for one
family (here under a lock; in Redis as one script; in SQL under a row lock), and
remembers the digest of every token spent, for as long as its family lives, so
an old token presented again is known for a reuse.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from backendkit.auth._core.refresh import Family, Outcome, RefreshPolicy, Rotation, decide


@runtime_checkable
class RefreshStore(Protocol):
    """Refresh-token families. A store that cannot answer raises :class:`~backendkit.stores.StoreUnavailable`."""

    def create(self, family: Family, policy: RefreshPolicy) -> None:
        """Keep a new family (its subject's index too)."""
        ...

    def rotate(self, family_id: str, presented: str, rotation: Rotation, now: float, policy: RefreshPolicy) -> Outcome:
        """Run :func:`decide` for the family atomically, write what it decided, and answer the outcome."""
        ...

    def revoke(self, family_id: str, now: float, policy: RefreshPolicy) -> Family | None:
        """Revoke the family (a logout); the family as it is now, or ``None`` when unknown."""
        ...

    def families(self, subject: str) -> list[str]:
        """The ids of ``subject``'s families that may still be live."""
        ...


class MemoryRefreshStore:
    """Families in this process's memory: one process only; ended families are dropped as new ones come.

    Example:
        >>> from backendkit.auth._core.refresh import Family, RefreshPolicy
        >>> store = MemoryRefreshStore()
        >>> store.create(Family("f1", "alice", current="d1", created_at=0.0, last_used_at=0.0), RefreshPolicy())
        >>> store.families("alice")
        ['f1']
    """

    def __init__(self) -> None:
        self._families: dict[str, Family] = {}
        self._spent: dict[str, set[str]] = {}
        self._ends: dict[str, float] = {}  # when each family can be forgotten
        self._lock = threading.Lock()

    def create(self, family: Family, policy: RefreshPolicy) -> None:
        with self._lock:
            self._forget_ended(family.created_at)
            if family.id in self._families:
                raise ValueError(f"family {family.id!r} exists")
            self._families[family.id] = family
            self._spent[family.id] = set()
            self._ends[family.id] = family.created_at + policy.lifetime

    def rotate(self, family_id: str, presented: str, rotation: Rotation, now: float, policy: RefreshPolicy) -> Outcome:
        with self._lock:
            family = self._families.get(family_id)
            was_spent = presented in self._spent.get(family_id, ())
            outcome = decide(family, presented, was_spent, rotation, now, policy)
            if outcome.family is not None and outcome.family is not family:
                self._families[family_id] = outcome.family
            if outcome.spent is not None:
                self._spent[family_id].add(outcome.spent)
            return outcome

    def revoke(self, family_id: str, now: float, policy: RefreshPolicy) -> Family | None:
        with self._lock:
            family = self._families.get(family_id)
            if family is None:
                return None
            family = self._families[family_id] = family.revoked(now)
            return family

    def families(self, subject: str) -> list[str]:
        with self._lock:  # (a login meanwhile would change the dict under the loop)
            return [family.id for family in self._families.values() if family.subject == subject]

    def get(self, family_id: str) -> Family | None:
        """The family as kept, or ``None`` (for a list of a user's sessions, and for tests)."""
        return self._families.get(family_id)

    def _forget_ended(self, now: float) -> None:
        for family_id in [fid for fid, end in self._ends.items() if end <= now]:
            del self._families[family_id], self._spent[family_id], self._ends[family_id]


__all__ = ["MemoryRefreshStore", "RefreshStore"]
