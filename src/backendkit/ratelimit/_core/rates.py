"""Rates in the notation of the ``limits`` package, parsed by it.

``limits`` is the one outside package the pure core may import, here only: its
parser is pure (text in, numbers out) and its notation is the one users know from
slowapi and flask-limiter. ``backendkit.ratelimit`` checks that it is installed
before importing this module, and names the extra to install when it is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import limits


@dataclass(frozen=True)
class Rate:
    """``amount`` requests per ``window`` seconds.

    Attributes:
        amount: How many requests.
        window: The window in whole seconds.
        text: The rate as written (``"10 per 1 second"``).
    """

    amount: int
    window: int
    text: str

    @property
    def window_us(self) -> int:
        """The window in microseconds, the unit of the algorithms."""
        return self.window * 1_000_000


def parse_rates(value: str | Any | Iterable[str | Any]) -> list[Rate]:
    """Rates from ``"10/second;1000/hour"``, a ``limits.RateLimitItem``, or a list of either.

    Raises:
        ValueError: The text is not a rate ``limits`` understands, or a rate is not positive.
    """
    items: list[Any] = []
    values = [value] if isinstance(value, str) or not isinstance(value, Iterable) else list(value)
    for one in values:
        if isinstance(one, str):
            try:
                items.extend(limits.parse_many(one))
            except ValueError as exc:
                raise ValueError(f"not a rate: {one!r} ({exc})") from None
        elif isinstance(one, limits.RateLimitItem):
            items.append(one)
        else:
            raise TypeError(f"a rate is a string or a limits.RateLimitItem, not {type(one).__name__}")
    rates = [Rate(int(item.amount), int(item.get_expiry()), str(item)) for item in items]
    if not rates:
        raise ValueError(f"no rate in {value!r}")
    for rate in rates:
        if rate.amount <= 0 or rate.window <= 0:
            raise ValueError(f"a rate must be positive: {rate.text}")
    return rates
