"""The outage policy's names, and the checks of its settings at construction. Pure.

``on_store_error`` says what a request gets while a store cannot answer:
``"open"`` (served as if the store had said yes: no limit, no idempotency, not
revoked) or ``"closed"`` (refused: a 429 from a limit, a 503 from the others).
"""

from __future__ import annotations

import math
from typing import Literal

from backendkit.errors import ConfigurationError

OnStoreError = Literal["open", "closed"]
OUTAGE_POLICIES: tuple[OnStoreError, ...] = ("open", "closed")


def check_on_store_error(value: object, name: str = "on_store_error") -> OnStoreError:
    """``value`` if it is ``"open"`` or ``"closed"``; a ``ConfigurationError`` naming ``name`` otherwise.

    Example:
        >>> check_on_store_error("closed")
        'closed'
    """
    if value == "open" or value == "closed":
        return "open" if value == "open" else "closed"
    raise ConfigurationError(f"{name} is 'open' or 'closed', not {value!r}")


def check_retry_interval(value: object) -> float:
    """``value`` if it is a finite number of seconds, 0 or more (0: try the store on every request).

    Example:
        >>> check_retry_interval(1)
        1.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ConfigurationError(f"retry_interval is a number of seconds (0 or more), not {value!r}")
    return float(value)


__all__ = ["OUTAGE_POLICIES", "OnStoreError", "check_on_store_error", "check_retry_interval"]
