"""A bounded cache of key records, with the time passed in. Pure.

A valid key should cost no store round trip in the steady state, and a revoked
one should stop working within a bound: each entry is trusted for ``ttl``
seconds after it was read from the store, then read again. A key id the store
does not know is remembered too (as ``None``), so probing unknown ids costs the
store no more than probing known ones. At most ``size`` entries; the least
recently used goes first.

Example:
    >>> cache = RecordCache(ttl=5.0, size=2)
    >>> cache.put("a", None, now=0.0)
    >>> cache.get("a", now=4.9), cache.get("a", now=5.0)
    ((None,), None)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class RecordCache(Generic[V]):
    """Entries by key id, fresh for ``ttl`` seconds; ``ttl=0`` caches nothing (the store is always asked).

    Reads need no lock; the shell serialises writes (:meth:`put`, :meth:`forget`).

    ``get`` answers a one-tuple ``(value,)`` for a fresh entry (the value may be
    ``None``: "not in the store"), or ``None`` when the store must be asked.
    :meth:`stale` answers an entry whatever its age, for a store that is down
    under the ``"open"`` policy.
    """

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 <= ttl < math.inf:
            raise ValueError(f"ttl is a number of seconds (0: no cache), not {ttl!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size is a positive number of entries, not {size!r}")
        self.ttl = float(ttl)
        self.size = size
        self._entries: OrderedDict[str, tuple[float, V | None]] = OrderedDict()

    def get(self, key: str, now: float) -> tuple[V | None] | None:
        """``(value,)`` when a fresh entry is held, else ``None``."""
        entry = self._entries.get(key)
        if entry is None or now - entry[0] >= self.ttl or now < entry[0]:
            return None
        try:  # noqa: SIM105 (not contextlib.suppress: its object costs more than the rest of a hit)
            self._entries.move_to_end(key)
        except KeyError:  # dropped by another thread meanwhile: the value read stands
            pass
        return (entry[1],)

    def stale(self, key: str) -> tuple[V | None] | None:
        """``(value,)`` for any entry held, however old."""
        entry = self._entries.get(key)
        return None if entry is None else (entry[1],)

    def put(self, key: str, value: V | None, now: float) -> None:
        """Hold ``value`` for ``key``, read from the store at ``now``."""
        if self.ttl == 0:
            return
        self._entries[key] = (now, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        """Drop ``key`` (this process revoked or rotated it: the next check asks the store)."""
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["RecordCache"]
