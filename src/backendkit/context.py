"""Request context on contextvars: the request id, trace ids and request facts for logs.

The adapters set them at the start of each request and reset them at the end, so
a value never leaks from one request to the next, across threads or asyncio tasks.

Example:
    >>> from backendkit.context import get_request_id
    >>> get_request_id() is None   # outside a request
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass

REQUEST_ID_HEADER = "X-Request-ID"
"""The default header that carries the request id, in and out."""

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

request_id_var: ContextVar[str | None] = ContextVar("backendkit.request_id", default=None)
"""The contextvar behind :func:`get_request_id`; adapters set and reset it."""


def get_request_id() -> str | None:
    """The id of the request being handled, or ``None`` outside a request."""
    return request_id_var.get()


def is_valid_request_id(value: str) -> bool:
    """Whether an incoming id may be kept: 1-128 characters of ``[A-Za-z0-9._-]``."""
    return _VALID_REQUEST_ID.fullmatch(value) is not None


def choose_request_id(incoming: str | None, *, trust_incoming: bool, generate: Callable[[], str]) -> str:
    """Keep a valid incoming id (when trusted), or make a fresh one with ``generate``."""
    if trust_incoming and incoming is not None and is_valid_request_id(incoming):
        return incoming
    return generate()


_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


@dataclass(frozen=True)
class TraceContext:
    """The W3C trace context of a request (from its ``traceparent`` header).

    Attributes:
        trace_id: 32 lower-case hex characters.
        span_id: 16 lower-case hex characters (the caller's span).
        flags: 2 hex characters; ``"01"`` means sampled.
    """

    trace_id: str
    span_id: str
    flags: str

    @property
    def sampled(self) -> bool:
        """Whether the caller sampled this trace."""
        return bool(int(self.flags, 16) & 1)


def parse_traceparent(value: str | None) -> TraceContext | None:
    """Parse a W3C ``traceparent`` header; ``None`` for anything invalid.

    Version ``00`` must be exactly four fields; a later version may carry more
    (they are ignored); version ``ff`` and all-zero ids are invalid.

    Example:
        >>> parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").span_id
        '00f067aa0ba902b7'
    """
    if not value or len(value) > 512:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or set(trace_id) == {"0"} or set(span_id) == {"0"}:
        return None
    return TraceContext(trace_id, span_id, flags)


@dataclass
class RequestFacts:
    """What logs carry about the request being handled.

    The adapters fill it in as they learn things: the route is only known once
    the router has matched, the user once authentication has run. ``route`` and
    ``user_id`` may be given as zero-argument callables, read (once) when a line
    is logged.
    """

    method: str | None = None
    client_ip: str | None = None
    """The client's address, decided once per request from the ``TRUSTED_PROXIES`` setting."""
    trace: TraceContext | None = None
    route: str | Callable[[], str | None] | None = None
    user_id: str | Callable[[], str | None] | None = None
    probe: bool = False
    """Answered by a quiet health probe or a metrics scrape: its access line is written at DEBUG, wherever mounted."""
    monitoring: bool = False
    """Answered by a health probe (quiet or not) or a metrics scrape: left out of request metrics and traces unless
    probes are measured (``observe(..., probes=True)``)."""

    def resolved_route(self) -> str | None:
        """The route template, resolving a lazy value (kept lazy until it is known)."""
        return self._resolved("route")

    def resolved_user_id(self) -> str | None:
        """The authenticated user's id, resolving a lazy value (kept lazy until it is known)."""
        return self._resolved("user_id")

    def _resolved(self, name: str) -> str | None:
        value = getattr(self, name)
        if not callable(value):
            return value  # type: ignore[no-any-return]
        known = _call_quietly(value)
        if known is not None:
            setattr(self, name, known)
        return known


def _call_quietly(getter: Callable[[], str | None]) -> str | None:
    try:
        value = getter()
    except Exception:  # logging must not fail because a lookup did
        return None
    return None if value is None else str(value)


request_facts_var: ContextVar[RequestFacts | None] = ContextVar("backendkit.request_facts", default=None)
"""The contextvar behind :func:`get_request_facts`; adapters set and reset it."""


def get_request_facts() -> RequestFacts | None:
    """The facts of the request being handled, or ``None`` outside a request."""
    return request_facts_var.get()


def get_client_ip() -> str | None:
    """The client's address for the request being handled, or ``None`` outside a request (or without one).

    The same address the rate-limit keys, the idempotency scope and the log
    lines use: the socket peer, or behind the proxies the ``TRUSTED_PROXIES``
    setting names, the client they forwarded (see :mod:`backendkit.proxies`).
    """
    facts = request_facts_var.get()
    return facts.client_ip if facts is not None else None


def client_ip_or(peer: str | None) -> str | None:
    """:func:`get_client_ip`, else ``peer``: for a piece used where no adapter has started the request."""
    return get_client_ip() or peer


def set_user_id(user_id: str | None) -> None:
    """Record the authenticated user of the current request, for its log lines.

    Call it from authentication code; outside a request it does nothing.
    """
    facts = request_facts_var.get()
    if facts is not None:
        facts.user_id = user_id


def bind_request_facts(facts: RequestFacts) -> Token[RequestFacts | None]:
    """Bind ``facts`` for the current request; reset the token when it ends."""
    return request_facts_var.set(facts)


__all__ = [
    "REQUEST_ID_HEADER",
    "RequestFacts",
    "TraceContext",
    "bind_request_facts",
    "choose_request_id",
    "client_ip_or",
    "get_client_ip",
    "get_request_facts",
    "get_request_id",
    "is_valid_request_id",
    "parse_traceparent",
    "request_facts_var",
    "request_id_var",
    "set_user_id",
]
