"""Deprecation and sunset of routes and API versions: RFC 9745 ``Deprecation``, RFC 8594 ``Sunset``, their links.

A :class:`Deprecation` is a value: the headers it adds are computed once, and
whether a request falls after the sunset is a question of the clock the caller
passes in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from backendkit.http._core.dates import epoch_seconds, format_http_date

_URI = re.compile(r"[\x21-\x7e]+")  # a URI reference with no space, control or non-ASCII character
_NO_ANGLE = re.compile(r"[^<>\"]+")


def _link(uri: str, rel: str, media_type: str) -> str:
    if _URI.fullmatch(uri) is None or _NO_ANGLE.fullmatch(uri) is None:
        raise ValueError(f"a link target is a URI without spaces, quotes or angle brackets: {uri!r}")
    return f'<{uri}>; rel="{rel}"; type="{media_type}"'


def merge_link(existing: str | None, addition: str) -> str:
    """One ``Link`` header holding both values (frameworks keep one value per header name)."""
    return addition if not existing else f"{existing}, {addition}"


@dataclass(frozen=True)
class Deprecation:
    """A route or an API version deprecated on ``deprecated``, optionally retired on ``sunset``.

    Args:
        deprecated: When it was (or will be) deprecated: an aware datetime.
        sunset: When it stops answering (RFC 8594); not before ``deprecated``.
        link: The migration guide, sent as ``Link: <...>; rel="deprecation"``.
        sunset_link: The sunset policy, sent as ``Link: <...>; rel="sunset"``.
        gone_after_sunset: From ``sunset`` on, answer ``410 GONE`` instead of calling the route.

    Example:
        >>> from datetime import datetime, timezone
        >>> d = Deprecation(datetime(2026, 7, 1, tzinfo=timezone.utc), sunset=datetime(2027, 1, 1, tzinfo=timezone.utc))
        >>> d.headers
        (('Deprecation', '@1782864000'), ('Sunset', 'Fri, 01 Jan 2027 00:00:00 GMT'))
    """

    deprecated: datetime
    sunset: datetime | None = None
    link: str | None = None
    sunset_link: str | None = None
    gone_after_sunset: bool = False
    headers: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    """``Deprecation`` and ``Sunset``, in that order (``Link`` apart: see :attr:`links`)."""
    links: str | None = field(init=False, repr=False, compare=False)
    """What goes into ``Link`` (merged with the response's own, see :func:`merge_link`), or None."""
    sunset_at: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        deprecated = epoch_seconds(self.deprecated)
        sunset = None if self.sunset is None else epoch_seconds(self.sunset)
        if sunset is not None and sunset < deprecated:
            raise ValueError("a sunset cannot come before the deprecation (RFC 9745 §4)")
        if self.gone_after_sunset and sunset is None:
            raise ValueError("gone_after_sunset needs a sunset date")
        headers = [("Deprecation", f"@{deprecated}")]
        if sunset is not None:
            headers.append(("Sunset", format_http_date(sunset)))
        links = []
        if self.link is not None:
            links.append(_link(self.link, "deprecation", "text/html"))
        if self.sunset_link is not None:
            links.append(_link(self.sunset_link, "sunset", "text/html"))
        object.__setattr__(self, "headers", tuple(headers))
        object.__setattr__(self, "links", ", ".join(links) or None)
        object.__setattr__(self, "sunset_at", sunset)

    def is_gone(self, now: float) -> bool:
        """Whether a request at ``now`` falls after a sunset that retires the route (then: 410)."""
        return self.gone_after_sunset and self.sunset_at is not None and now >= self.sunset_at

    def gone_message(self) -> str:
        """The 410's message."""
        return f"This endpoint was retired on {format_http_date(self.sunset_at or 0)}."

    def all_headers(self, link: str | None = None) -> list[tuple[str, str]]:
        """``Deprecation``, ``Sunset`` and ``Link`` for a response whose own ``Link`` is ``link``."""
        out = list(self.headers)
        if self.links is not None:
            out.append(("Link", merge_link(link, self.links)))
        return out
