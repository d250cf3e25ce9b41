"""The response side of conditional GETs: tag a 200 that carries no ETag, and turn it into a 304 if the client has it.

The adapters' conditional layer sees the answer the route produced, asks
:func:`revalidate`, and either sends it as it is (with the ETag added) or sends a
304 with :func:`~backendkit.http._core.preconditions.not_modified_headers`.
"""

from __future__ import annotations

from dataclasses import dataclass

from backendkit.http._core.dates import parse_http_date
from backendkit.http._core.etags import ETag, parse_tags
from backendkit.http._core.preconditions import SAFE_READS, Conditions, Verdict, evaluate


@dataclass(frozen=True)
class ConditionalRequests:
    """The conditional layer's setting (``CONDITIONAL_REQUESTS``; ``conditional=`` on the ASGI install).

    Args:
        auto_etag: Give a 200 GET/HEAD answer without an ``ETag`` a strong one from its
            bytes (:meth:`ETag.of`), when its whole body is in memory.
        max_body: The largest body hashed for ``auto_etag`` (bytes); a larger or a streamed
            one goes out untagged.
    """

    auto_etag: bool = True
    max_body: int = 4 << 20

    def __post_init__(self) -> None:
        if self.max_body < 0:
            raise ValueError("max_body is a size in bytes, 0 or more")


@dataclass(frozen=True, slots=True)
class Revalidation:
    """What to do with a response: add ``etag`` (when not None), and answer ``verdict``; ``current`` is its tag."""

    etag: str | None
    verdict: Verdict
    current: ETag | None = None


KEEP = Revalidation(None, Verdict.PROCEED)


def _single_tag(value: str | None) -> ETag | None:
    if value is None:
        return None
    tags = parse_tags(value)
    if tags is None or tags == "*" or len(tags) != 1:
        return None
    return tags[0]


def revalidate(
    setting: ConditionalRequests,
    method: str,
    conditions: Conditions,
    status: int,
    *,
    etag: str | None,
    last_modified: str | None,
    body: bytes | None,
    now: float,
) -> Revalidation:
    """The conditional layer's decision for one response.

    Args:
        setting: The layer's setting.
        method: The request's method.
        conditions: The request's preconditions (:data:`NONE` for most requests).
        status: The response's status: only a 200 to a GET or HEAD is weighed.
        etag: The response's own ``ETag`` header, if any (an application's tag wins).
        last_modified: Its ``Last-Modified`` header, if any.
        body: The whole body when it is in memory (None when streamed); for a HEAD, the
            body a GET would have had, or None.
        now: The server's clock (seconds since the epoch).
    """
    if status != 200 or method not in SAFE_READS:
        return KEEP
    added: str | None = None
    current = _single_tag(etag)
    if etag is None and setting.auto_etag and body is not None and len(body) <= setting.max_body:
        current = ETag.of(body)
        added = str(current)
    if conditions.empty:
        return Revalidation(added, Verdict.PROCEED, current)
    modified = None if last_modified is None else parse_http_date(last_modified)
    verdict = evaluate(method, conditions, etag=current, last_modified=modified, now=now)
    return Revalidation(added, verdict, current)
