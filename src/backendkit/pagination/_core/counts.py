"""How a page's total is counted: exactly, not at all, up to a cap, or by the caller's estimate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from backendkit.errors import ConfigurationError

TotalKind = Literal["exact", "more_than", "estimate"]


@dataclass(frozen=True, slots=True)
class Capped:
    """Count at most ``limit + 1`` rows: a total of ``limit`` with kind ``more_than`` when there are more.

    Cheaper than an exact count on a large table, and enough for "1,000+ results".
    """

    limit: int = 1000

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ConfigurationError("Capped needs a limit of at least 1")


@dataclass(frozen=True, slots=True)
class Estimate:
    """The caller's own estimate: ``estimate(query)`` gets the filtered query (or sequence) of the page.

    On PostgreSQL this is typically the planner's row estimate from ``EXPLAIN``; the
    total is reported with kind ``estimate``. It may be a coroutine function for the
    async backends (``apaginate``), which await it.
    """

    estimate: Callable[[Any], int | Awaitable[int]]


CountStrategy = Literal["exact", "none"] | Capped | Estimate


@dataclass(frozen=True, slots=True)
class Total:
    """A page's total and what kind of number it is (``None`` / ``None`` when not counted)."""

    value: int | None = None
    kind: TotalKind | None = None


NOT_COUNTED = Total()


def check_strategy(strategy: object) -> CountStrategy:
    """``strategy`` if it is a count strategy; :class:`ConfigurationError` otherwise."""
    if strategy in ("exact", "none") or isinstance(strategy, (Capped, Estimate)):
        return strategy
    raise ConfigurationError("count must be 'exact', 'none', Capped(n) or Estimate(fn)")


def counts_rows(strategy: CountStrategy) -> bool:
    """Whether the strategy needs the backend to count rows (not ``"none"``, not an ``Estimate``)."""
    return strategy != "none" and not isinstance(strategy, Estimate)


def count_cap(strategy: CountStrategy) -> int | None:
    """How many rows a backend should count at most (``None``: all of them)."""
    return strategy.limit + 1 if isinstance(strategy, Capped) else None


def total_from_count(strategy: CountStrategy, counted: int) -> Total:
    """The total a count of ``counted`` rows (up to :func:`count_cap`) stands for."""
    if isinstance(strategy, Capped) and counted > strategy.limit:
        return Total(strategy.limit, "more_than")
    return Total(counted, "exact")


def total_without_count(strategy: CountStrategy, *, offset: int, served: int, has_next: bool) -> Total | None:
    """The total an offset page already tells, without a count query, or ``None``.

    A page that is not full and not past the end ends the list: the total is its
    offset plus its rows. Estimates are left to the caller's function.
    """
    if strategy == "none" or isinstance(strategy, Estimate) or has_next or (served == 0 and offset > 0):
        return None
    return total_from_count(strategy, offset + served)
