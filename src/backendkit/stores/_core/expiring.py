"""Entries that expire: what every in-memory store keeps, a value and the time it stops counting.

Pure: the time is passed in, in whatever unit the store counts (seconds, microseconds).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, TypeVar

V = TypeVar("V")


def live(entries: MutableMapping[str, tuple[V, Any]], key: str, now: float) -> V | None:
    """The value under ``key`` while it lives (its expiry, the entry's second item, is after ``now``).

    An entry found expired is dropped, so a store needs no sweep to forget a key it is asked for.

    Example:
        >>> entries = {"a": (b"x", 10.0), "b": (b"y", 5.0)}
        >>> live(entries, "a", 7.0), live(entries, "b", 7.0), sorted(entries)
        (b'x', None, ['a'])
    """
    entry = entries.get(key)
    if entry is None:
        return None
    if entry[1] <= now:
        del entries[key]
        return None
    return entry[0]


__all__ = ["live"]
