"""Sort parameters (``sort=-priority,created_at``) parsed against an allowlist.

A field name from the client is only ever compared with the allowlist; what reaches
a query is the allowlisted name the backend maps to a column, never the client's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backendkit.errors import ConfigurationError
from backendkit.pagination._core.errors import InvalidSort

MAX_SORT_LENGTH = 256


@dataclass(frozen=True, slots=True)
class SortKey:
    """One field of an ordering; ``descending`` puts the greatest value first.

    NULL counts as greater than every value, on every backend: last when ascending,
    first when descending.
    """

    name: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.name}" if self.descending else self.name


Ordering = tuple[SortKey, ...]


def format_ordering(ordering: Ordering) -> str:
    """The canonical text of an ordering: ``-priority,id``."""
    return ",".join(str(key) for key in ordering)


class SortSpec:
    """Which fields a client may sort on, the default ordering and the unique tiebreaker.

    The tiebreaker (a unique, non-NULL field such as the primary key) is appended to
    every ordering that lacks it, so that keyset pages never skip or repeat rows.

    Example:
        >>> spec = SortSpec(["priority", "created_at", "id"], default="-priority")
        >>> format_ordering(spec.parse("created_at,-priority"))
        'created_at,-priority,id'
        >>> format_ordering(spec.parse(None))
        '-priority,id'
    """

    def __init__(self, allowed: Iterable[str], *, default: str, tiebreaker: str = "id") -> None:
        self.allowed = frozenset(allowed)
        self.tiebreaker = tiebreaker
        if not self.allowed:
            raise ConfigurationError("SortSpec needs at least one allowed field")
        try:
            self.default = self.parse(default)
        except InvalidSort as exc:
            raise ConfigurationError(f"the default sort {default!r} is not valid: {exc.details}") from None

    def parse(self, raw: str | None) -> Ordering:
        """The ordering a ``sort`` value asks for, tiebreaker included; :class:`InvalidSort` if it is not allowed."""
        if raw is None or raw.strip() == "":
            if getattr(self, "default", None) is not None:
                return self.default
            raw = ""
        if len(raw) > MAX_SORT_LENGTH:
            raise InvalidSort(details={"parameter": "sort", "reason": "too_long"})
        keys: list[SortKey] = []
        seen: set[str] = set()
        for part in raw.split(","):
            # A "+" in a query string arrives as a space; both mean ascending.
            text = part.strip()
            descending = text.startswith("-")
            name = text[1:] if text[:1] in "+-" and text else text
            if not name:
                raise InvalidSort(details={"parameter": "sort", "reason": "empty_field"})
            if name not in self.allowed and name != self.tiebreaker:
                raise InvalidSort(
                    details={"parameter": "sort", "field": name[:64], "allowed": sorted(self.allowed)},
                )
            if name in seen:
                raise InvalidSort(details={"parameter": "sort", "field": name, "reason": "repeated"})
            seen.add(name)
            keys.append(SortKey(name, descending))
        if self.tiebreaker not in seen:
            keys.append(SortKey(self.tiebreaker))
        return tuple(keys)
