"""Page-size policy and the whole numbers of offset pagination, parsed from query text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backendkit.errors import ConfigurationError
from backendkit.pagination._core.errors import InvalidPage, InvalidPageSize

MAX_DIGITS = 12  # a page or offset beyond 10**12 is not a real request
MAX_INDEX = 10**MAX_DIGITS - 1  # the largest page number and the largest offset


@dataclass(frozen=True, slots=True)
class PageSize:
    """How many items a page holds.

    Attributes:
        default: The size when the client names none.
        maximum: The largest size served.
        oversize: Over the maximum, ``"clamp"`` serves the maximum and says so in the
            response (``"clamped": true``); ``"reject"`` answers 400 ``INVALID_PAGE_SIZE``.

    Example:
        >>> PageSize(default=20, maximum=100).resolve("500", parameter="limit")
        (100, True)
    """

    default: int = 20
    maximum: int = 100
    oversize: Literal["clamp", "reject"] = "clamp"

    def __post_init__(self) -> None:
        if not 1 <= self.default <= self.maximum:
            raise ConfigurationError("page sizes need 1 <= default <= maximum")
        if self.oversize not in ("clamp", "reject"):
            raise ConfigurationError("oversize must be 'clamp' or 'reject'")

    def resolve(self, raw: str | None, *, parameter: str) -> tuple[int, bool]:
        """The size to serve for the text ``raw`` and whether it was clamped."""
        if raw is None or raw == "":
            return self.default, False
        size = whole_number(raw)
        if size is None or size < 1:
            raise InvalidPageSize(details={"parameter": parameter, "minimum": 1, "maximum": self.maximum})
        if size <= self.maximum:
            return size, False
        if self.oversize == "reject":
            raise InvalidPageSize(
                f"The page size may be at most {self.maximum}.",
                details={"parameter": parameter, "minimum": 1, "maximum": self.maximum},
            )
        return self.maximum, True


def whole_number(raw: str) -> int | None:
    """``raw`` as a non-negative int if it is plain ASCII digits (no sign, no spaces, no underscores)
    of at most :data:`MAX_DIGITS` after any leading zeros."""
    if not raw or not (raw.isascii() and raw.isdigit()):
        return None
    digits = raw.lstrip("0")
    return int(digits or "0") if len(digits) <= MAX_DIGITS else None


def parse_index(raw: str | None, *, parameter: str, minimum: int) -> int:
    """A page number (``minimum`` 1) or offset (``minimum`` 0) up to :data:`MAX_INDEX`; else :class:`InvalidPage`."""
    if raw is None or raw == "":
        return minimum
    number = whole_number(raw)
    if number is None or not minimum <= number <= MAX_INDEX:
        raise InvalidPage(
            f"The {parameter} must be a whole number from {minimum} to {MAX_INDEX}.",
            details={"parameter": parameter, "minimum": minimum, "maximum": MAX_INDEX},
        )
    return number


def boolean(raw: str) -> bool:
    """A filter parser for ``true``/``false`` (also ``1``/``0``, ``yes``/``no``); ``ValueError`` otherwise."""
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(raw)
