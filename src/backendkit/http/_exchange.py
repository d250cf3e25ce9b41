"""One request's HTTP semantics, from its headers in to its response out: what every adapter calls.

:class:`HttpSemantics` is built once from the two settings. Per request, an adapter
calls :meth:`HttpSemantics.begin` before routing (it raises the 400, 404, 410 a request
earns there), lets routes add a route's own deprecation (:meth:`HttpExchange.deprecate`),
and hands every response, errors included, to :meth:`HttpExchange.finish`, which says
what goes out: the ETag, a 304 in place of a 200, the deprecation headers, ``Vary``.
The adapters translate headers to and from their framework's types; the decisions are here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from backendkit.errors import APIError
from backendkit.http._core.answers import Preconditions, conditions_of, failed, gone, version_error
from backendkit.http._core.deprecation import Deprecation, merge_link
from backendkit.http._core.preconditions import (
    NONE,
    NOT_MODIFIED_DROPS,
    SAFE_READS,
    Conditions,
    Verdict,
    not_modified_headers,
)
from backendkit.http._core.revalidate import ConditionalRequests, revalidate
from backendkit.http._core.setting import conditional_setting, versioning_setting
from backendkit.http._core.versions import UnknownVersion, Versioning

Headers = list[tuple[str, str]]

api_version_var: ContextVar[str | None] = ContextVar("backendkit.api_version", default=None)


def get_api_version() -> str | None:
    """The API version the current request asked for (``VERSIONING``), or None."""
    return api_version_var.get()


_NOT_CARRIED = NOT_MODIFIED_DROPS | {"etag", "last-modified", "cache-control", "expires", "content-location"}


def carried_headers(original: Headers, error: Headers) -> Headers:
    """What an error put in place of an answer (:attr:`Finished.error`) keeps of that answer's headers.

    Everything the application's hooks and middleware added (cookies, CORS, its own fields),
    but the answer's representation metadata and caching (a 412 is not the 200's
    representation, and must not be cached as it), and nothing the error sets itself.
    """
    present = {name.lower() for name, _ in error}
    return [(name, value) for name, value in original if name.lower() not in _NOT_CARRIED | present]


def _get(headers: Headers, name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


def _joined(headers: Headers, name: str) -> str | None:
    """Every value of a list header (``Link``, ``Vary``) joined by ``", "`` (RFC 9110 §5.3); None when absent."""
    lowered = name.lower()
    values = [value for key, value in headers if key.lower() == lowered]
    return ", ".join(values) if values else None


def _set(headers: Headers, name: str, value: str) -> None:
    lowered = name.lower()
    headers[:] = [(k, v) for k, v in headers if k.lower() != lowered]
    headers.append((name, value))


@dataclass
class Finished:
    """What :meth:`HttpExchange.finish` decided: the status and headers to send, whether the body goes.

    ``error`` is set instead when the answer must become an error (a GET whose ``If-Match``
    fails against the tag of what it produced): the adapter renders it as it renders any
    API error, and finishes that response in turn.
    """

    status: int
    headers: Headers
    send_body: bool = True
    error: APIError | None = None


@dataclass
class HttpExchange:
    """One request's state: its preconditions, its version, the deprecation its answers carry."""

    semantics: HttpSemantics
    method: str
    conditions: Conditions = NONE
    version: str | None = None
    deprecation: Deprecation | None = None
    conditions_read: bool = False

    def deprecate(self, deprecation: Deprecation, *, now: float) -> None:
        """A route's own deprecation (it wins over its version's); raises the 410 past a retiring sunset."""
        self.deprecation = deprecation
        if deprecation.is_gone(now):
            raise gone(deprecation)

    def finish(self, status: int, headers: Headers, body: bytes | None, *, now: float) -> Finished:
        """The response to send for one the application made (``headers`` are not changed in place).

        Args:
            status: The response's status.
            headers: Its headers, as name/value pairs.
            body: Its whole body when in memory (for a HEAD: the GET's, or None); None when streamed.
            now: The server's clock, seconds since the epoch.
        """
        out = list(headers)
        semantics = self.semantics
        if semantics.conditional is not None:
            decided = revalidate(
                semantics.conditional,
                self.method,
                self.conditions,
                status,
                etag=_get(out, "ETag"),
                last_modified=_get(out, "Last-Modified"),
                body=body,
                now=now,
            )
            if decided.etag is not None:
                out.append(("ETag", decided.etag))
            if decided.verdict is Verdict.FAILED:
                return Finished(status, out, error=failed(decided.current))
            if decided.verdict is Verdict.NOT_MODIFIED:
                status, out = 304, not_modified_headers(out)
        if self.deprecation is not None:
            for name, value in self.deprecation.headers:
                _set(out, name, value)
            links = self.deprecation.links
            existing = _joined(out, "Link")
            if links is not None and (existing is None or links not in existing):
                _set(out, "Link", merge_link(existing, links))
        vary = semantics.versioning.vary if semantics.versioning is not None else None
        if vary is not None:
            current_vary = _joined(out, "Vary")
            listed = [] if current_vary is None else [v.strip().lower() for v in current_vary.split(",")]
            if vary.lower() not in listed and "*" not in listed:
                _set(out, "Vary", vary if current_vary is None else f"{current_vary}, {vary}")
        return Finished(status, out, send_body=status != 304)


@dataclass(frozen=True)
class HttpSemantics:
    """The conditional layer and API versions an app runs with (either may be off).

    Example:
        >>> from backendkit.http import ConditionalRequests
        >>> semantics = HttpSemantics(conditional=ConditionalRequests())
        >>> exchange = semantics.begin("GET", "/tasks/1", {}.get, now=0.0)
        >>> done = exchange.finish(200, [("Content-Type", "application/json")], b"{}", now=0.0)
        >>> done.status, done.headers[-1]
        (200, ('ETag', '"RBNvo1WzZ4oRRq0W9-hkng"'))
    """

    conditional: ConditionalRequests | None = None
    versioning: Versioning | None = None
    active: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "active", self.conditional is not None or self.versioning is not None)

    @classmethod
    def from_settings(cls, conditional: Any, versioning: Any) -> HttpSemantics:
        """From the ``CONDITIONAL_REQUESTS`` and ``VERSIONING`` settings' values."""
        return cls(conditional=conditional_setting(conditional), versioning=versioning_setting(versioning))

    def begin(self, method: str, path: str, header: Callable[[str], str | None], *, now: float) -> HttpExchange:
        """A request's exchange, before routing.

        Raises:
            APIError: 400 ``MALFORMED_PRECONDITION`` (a malformed ``If-Match`` on a GET or
                HEAD, with the conditional layer on); 404 or 400 ``UNSUPPORTED_VERSION``; 410 ``GONE`` for
                a retired version.
        """
        exchange = HttpExchange(self, method)
        versioning = self.versioning
        if versioning is not None:
            try:
                version = versioning.resolve(path=path, header=header(versioning.header), accept=header("Accept"))
            except UnknownVersion as exc:
                refused = version_error(exc)
                if versioning.vary is not None:  # (the 400 too depends on the header a cache must key on)
                    refused.headers["Vary"] = versioning.vary
                raise refused from None
            exchange.version = version
            deprecation = versioning.deprecation(version)
            if deprecation is not None:
                exchange.deprecate(deprecation, now=now)
        if self.conditional is not None and method in SAFE_READS:
            # An unsafe request's preconditions are its route's to weigh (preconditions()), before it
            # changes anything: a route that takes none ignores them, a method no route serves is a 405.
            try:
                exchange.conditions = conditions_of(header)
            except APIError as refused:  # (no exchange finishes it: it carries its version's headers itself)
                if exchange.deprecation is not None:
                    refused.headers.update(exchange.deprecation.all_headers())
                raise
            exchange.conditions_read = True
        return exchange


def request_preconditions(
    exchange: HttpExchange | None, method: str, header: Callable[[str], str | None], *, required: bool
) -> Preconditions:
    """A route's :class:`Preconditions`: the ones :meth:`HttpSemantics.begin` read (GET, HEAD), else read now.

    What every framework's ``preconditions()`` hands a route.

    Raises:
        BadRequest: 400 ``MALFORMED_PRECONDITION`` for a malformed ``If-Match``.
        PreconditionRequired: 428 for a ``required`` unsafe request without a precondition.
    """
    conditions = exchange.conditions if exchange is not None and exchange.conditions_read else conditions_of(header)
    found = Preconditions(method, conditions, required)
    found.require()
    return found
