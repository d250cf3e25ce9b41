"""Conditional requests (RFC 9110 §13): which of the four preconditions hold, in the RFC's order.

:class:`Conditions` is what a request asked (its four headers, parsed once);
:func:`evaluate` weighs them against what the server has now (an ETag, a last
modification time, whether the resource exists) and answers a :class:`Verdict`.
Every adapter asks this one function, so the same headers get the same answer on
every framework.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from backendkit.http._core.dates import parse_http_date
from backendkit.http._core.etags import ANY, ETag, Tags, parse_tags

SAFE_READS = frozenset({"GET", "HEAD"})
"""The methods a failed ``If-None-Match`` / ``If-Modified-Since`` answers 304 for (412 for the rest)."""

HEADERS = ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")

NOT_MODIFIED_DROPS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "content-language",
        "content-range",
        "content-disposition",
        "content-md5",
        "transfer-encoding",
    }
)
"""Representation metadata a 304 leaves out (RFC 9110 §15.4.5); everything else of the 200 it stands for is kept,
ETag, Cache-Control, Vary, Date, Expires, Content-Location and Last-Modified among them."""


class MalformedPrecondition(ValueError):
    """``If-Match`` is not ``*`` or a list of entity tags: the request cannot say what it expects."""


class Verdict(enum.Enum):
    """What a request's preconditions decide."""

    PROCEED = "proceed"
    NOT_MODIFIED = "not_modified"  # 304: the client's copy is current (GET/HEAD)
    FAILED = "failed"  # 412
    REQUIRED = "required"  # 428: the route wants a precondition and none was sent


@dataclass(frozen=True, slots=True)
class Conditions:
    """A request's preconditions, parsed.

    A malformed ``If-None-Match`` reads as absent (the request then gets the full answer:
    nothing is lost), and so does a date that is not an HTTP-date (RFC 9110 §13.1.3-4). A
    malformed ``If-Match`` raises :class:`MalformedPrecondition`: ignoring it would let
    the change through unguarded, which is what the client sent it to prevent.
    """

    if_match: Tags | None = None
    if_none_match: Tags | None = None
    if_modified_since: int | None = None
    if_unmodified_since: int | None = None

    @classmethod
    def parse(cls, header: Callable[[str], str | None]) -> Conditions:
        """From a getter of request headers by name (case-insensitive, as each framework's is)."""
        if_match = header("If-Match")
        match = None if if_match is None else parse_tags(if_match)
        if if_match is not None and match is None:
            raise MalformedPrecondition('If-Match must be * or a list of quoted entity tags, such as "v3"')
        none_match, modified, unmodified = (
            header("If-None-Match"),
            header("If-Modified-Since"),
            header("If-Unmodified-Since"),
        )
        none_match_tags = None if none_match is None else parse_tags(none_match)
        # RFC 9110 §13.1.3: If-Modified-Since is ignored when the request has an If-None-Match, even one that
        # reads as absent here (a malformed one): the client asked for a comparison of tags, not of dates.
        if none_match is not None and none_match_tags is None:
            modified = None
        return cls(
            if_match=match,
            if_none_match=none_match_tags,
            if_modified_since=None if modified is None else parse_http_date(modified),
            if_unmodified_since=None if unmodified is None else parse_http_date(unmodified),
        )

    @property
    def guards_a_change(self) -> bool:
        """Whether a header here can protect a change from a lost update (what a 428 asks for).

        ``If-Match`` does; ``If-None-Match: *`` does for a creation (only if nothing is there);
        ``If-Unmodified-Since`` does where the resource has a modification time (:func:`evaluate`
        answers REQUIRED when it has none). ``If-None-Match`` with tags does not: "unless it is
        this one" lets any other version be overwritten.
        """
        return self.if_match is not None or self.if_none_match == ANY or self.if_unmodified_since is not None

    @property
    def empty(self) -> bool:
        """No precondition at all (the common request: nothing to weigh)."""
        return (
            self.if_match is None
            and self.if_none_match is None
            and self.if_modified_since is None
            and self.if_unmodified_since is None
        )


NONE = Conditions()
"""A request without preconditions."""


def _any_match(tags: Tags, current: ETag | None, exists: bool, *, strong: bool) -> bool:
    if tags == ANY:
        return exists
    if current is None:
        return False
    if strong:
        return any(tag.matches_strongly(current) for tag in tags)
    return any(tag.matches_weakly(current) for tag in tags)


def _guarded(conditions: Conditions, last_modified: int | None) -> bool:
    """A precondition that can refuse a lost update here: a date only counts when there is one to compare."""
    if conditions.if_match is not None or conditions.if_none_match == ANY:
        return True
    return conditions.if_unmodified_since is not None and last_modified is not None


def evaluate(
    method: str,
    conditions: Conditions,
    *,
    etag: ETag | None = None,
    last_modified: int | None = None,
    exists: bool = True,
    required: bool = False,
    now: float | None = None,
) -> Verdict:
    """RFC 9110 §13.2.2's order: ``If-Match`` (else ``If-Unmodified-Since``), then ``If-None-Match``
    (else ``If-Modified-Since``).

    Args:
        method: The request's method (upper case).
        conditions: What the request asked.
        etag: The current representation's tag (None: it has none, or there is none).
        last_modified: Its last modification, whole seconds since the epoch.
        exists: Whether the resource has a current representation (``*`` matches only then).
        required: The route changes state only under a precondition: an unsafe method
            without ``If-Match``, ``If-None-Match: *`` or (when ``last_modified`` is known)
            ``If-Unmodified-Since`` is :attr:`Verdict.REQUIRED`.
        now: The server's clock; an ``If-Modified-Since`` later than it is ignored.

    Example:
        >>> c = Conditions(if_match=(ETag("v2"),))
        >>> evaluate("PUT", c, etag=ETag("v2")), evaluate("PUT", c, etag=ETag("v3"))
        (<Verdict.PROCEED: 'proceed'>, <Verdict.FAILED: 'failed'>)
        >>> evaluate("GET", Conditions(if_none_match=(ETag("v3", weak=True),)), etag=ETag("v3"))
        <Verdict.NOT_MODIFIED: 'not_modified'>
    """
    read = method in SAFE_READS
    if required and not read and not _guarded(conditions, last_modified):
        return Verdict.REQUIRED
    if conditions.if_match is not None:
        if not _any_match(conditions.if_match, etag, exists, strong=True):
            return Verdict.FAILED
    elif (
        conditions.if_unmodified_since is not None
        and exists
        and last_modified is not None
        and last_modified > conditions.if_unmodified_since
    ):
        return Verdict.FAILED
    if conditions.if_none_match is not None:
        if _any_match(conditions.if_none_match, etag, exists, strong=False):
            return Verdict.NOT_MODIFIED if read else Verdict.FAILED
    elif read and conditions.if_modified_since is not None and exists and last_modified is not None:
        since = conditions.if_modified_since
        if (now is None or since <= now) and last_modified <= since:
            return Verdict.NOT_MODIFIED
    return Verdict.PROCEED


def not_modified_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers of a 304 standing for a 200 with ``headers``: all but its representation metadata."""
    return [(name, value) for name, value in headers if name.lower() not in NOT_MODIFIED_DROPS]
