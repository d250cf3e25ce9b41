"""What a verdict becomes: nothing, a 304 (raised as :class:`NotModified`), or an API error.

The adapters call :func:`check` with a request's method and header getter; each
framework's error handling renders the API errors, and its adapter turns
:class:`NotModified` into a bodiless 304.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backendkit.errors import APIError, BadRequest, Gone, NotFound, PreconditionFailed, PreconditionRequired
from backendkit.http._core.dates import format_http_date
from backendkit.http._core.deprecation import Deprecation
from backendkit.http._core.etags import ETag, version_of
from backendkit.http._core.preconditions import SAFE_READS, Conditions, MalformedPrecondition, Verdict, evaluate
from backendkit.http._core.versions import UnknownVersion

MALFORMED_CODE = "MALFORMED_PRECONDITION"


class NotModified(Exception):
    """304: the client's copy is current. ``headers`` are the validators to send with it."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("not modified")
        self.headers = headers


def validator_headers(etag: ETag | None, last_modified: int | None) -> dict[str, str]:
    """``ETag`` and ``Last-Modified`` for the validators known."""
    out: dict[str, str] = {}
    if etag is not None:
        out["ETag"] = str(etag)
    if last_modified is not None:
        out["Last-Modified"] = format_http_date(last_modified)
    return out


def conditions_of(header: Callable[[str], str | None]) -> Conditions:
    """The request's :class:`Conditions`, or a 400 ``MALFORMED_PRECONDITION`` for a malformed ``If-Match``."""
    try:
        return Conditions.parse(header)
    except MalformedPrecondition as exc:
        raise BadRequest(str(exc), code=MALFORMED_CODE) from None


def failed(etag: ETag | None) -> PreconditionFailed:
    """The 412, carrying the current ``ETag`` (header and ``details.etag``) when there is one."""
    if etag is None:
        return PreconditionFailed()
    return PreconditionFailed(headers={"ETag": str(etag)}, details={"etag": str(etag)})


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of :func:`check` when the request goes on: the validators to send with the answer."""

    headers: dict[str, str]


def check(
    method: str,
    conditions: Conditions,
    *,
    etag: ETag | None = None,
    last_modified: int | None = None,
    exists: bool = True,
    required: bool = False,
    now: float | None = None,
) -> Check:
    """Evaluate and answer: return when the request may go on, raise :class:`NotModified` or an API error.

    Raises:
        NotModified: A GET/HEAD whose client copy is current.
        PreconditionFailed: 412, with the current ``ETag``.
        PreconditionRequired: 428, for a ``required`` route called unconditionally.
    """
    verdict = evaluate(
        method, conditions, etag=etag, last_modified=last_modified, exists=exists, required=required, now=now
    )
    headers = validator_headers(etag, last_modified)
    if verdict is Verdict.PROCEED:
        return Check(headers)
    if verdict is Verdict.NOT_MODIFIED:
        raise NotModified(headers)
    if verdict is Verdict.REQUIRED:
        raise PreconditionRequired()
    raise failed(etag)


@dataclass(frozen=True, slots=True)
class Preconditions:
    """One request's preconditions, bound to its method: what each adapter hands a route.

    FastAPI's ``Depends(preconditions(...))``, Flask's ``preconditions()`` and Django's
    ``preconditions(request)`` all give one; the route then calls :meth:`check` with the
    resource's current validators, or reads :attr:`expected_version` to update
    atomically (``UPDATE ... WHERE version = :expected``).

    Example:
        >>> p = Preconditions("PUT", Conditions.parse({"If-Match": '"v3"'}.get), required=True)
        >>> p.expected_version
        '3'
        >>> p.check(etag=ETag.for_version(3)).headers
        {'ETag': '"v3"'}
    """

    method: str
    conditions: Conditions
    required: bool = False

    def check(
        self,
        *,
        etag: ETag | None = None,
        last_modified: int | None = None,
        exists: bool = True,
        now: float | None = None,
    ) -> Check:
        """:func:`check` for this request: return (the request goes on) or raise 304/412/428."""
        return check(
            self.method,
            self.conditions,
            etag=etag,
            last_modified=last_modified,
            exists=exists,
            required=self.required,
            now=now,
        )

    @property
    def expected_version(self) -> str | None:
        """The version a single ``If-Match: "v<version>"`` names (see :meth:`ETag.for_version`), else None."""
        return version_of(self.conditions.if_match)

    def require(self) -> None:
        """Raise the 428 if the route needs a precondition and this unsafe request sent none that can guard it.

        (Before the resource is read: an ``If-Unmodified-Since`` passes here, and :meth:`check`
        answers 428 if the resource turns out to have no modification time to compare it with.)
        """
        if self.required and self.method not in SAFE_READS and not self.conditions.guards_a_change:
            raise PreconditionRequired()


VERSION_CODE = "UNSUPPORTED_VERSION"


def version_error(exc: UnknownVersion) -> APIError:
    """404 (a path) or 400 (a header, a media type) ``UNSUPPORTED_VERSION``, listing the supported versions."""
    details = {"requested": exc.asked, "supported": list(exc.supported)}
    return APIError(str(exc), code=VERSION_CODE, status=exc.status, details=details)


def gone(deprecation: Deprecation, link: str | None = None) -> Gone:
    """The 410 of a route past its sunset, with its ``Deprecation``, ``Sunset`` and ``Link`` headers."""
    return Gone(deprecation.gone_message(), headers=dict(deprecation.all_headers(link)))


LARGEST_VERSION = (1 << 63) - 1
"""The widest integer column's largest value (BIGINT): a larger version matches no row."""


def version_number(version: int | str | None) -> int | None:
    """The version an optimistic update expects, as a number; None when it cannot name a stored one.

    ``Preconditions.expected_version`` gives text (``"3"`` from ``If-Match: "v3"``) or None;
    an int is taken as it is. Text that is not ASCII digits, a negative number or one past
    :data:`LARGEST_VERSION` or with a leading zero (``"v03"`` does not match ``"v3"`` in
    :meth:`Preconditions.check` either) names no row: the update then changes nothing and answers 412
    (or 404). A bool is a caller's bug, refused.

    Example:
        >>> version_number("3"), version_number("03"), version_number("٣"), version_number(None), version_number(7)
        (3, None, None, None, 7)
    """
    if isinstance(version, bool):
        raise TypeError("a version is an int or the text of one, not a bool")
    if isinstance(version, int):
        number = version
    elif (
        isinstance(version, str)
        and version.isascii()
        and version.isdigit()
        and len(version) <= 19
        and (version == "0" or version[0] != "0")  # "v0003" is not the tag of version 3 ("v3")
    ):
        number = int(version)
    else:
        return None
    return number if 0 <= number <= LARGEST_VERSION else None


def not_updated(current: int | str | None) -> NotFound | PreconditionFailed:
    """Why an optimistic update changed no row: none there (404), or another version (412 with its tag)."""
    if current is None:
        return NotFound()
    return failed(ETag.for_version(current))
