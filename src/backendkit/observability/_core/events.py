"""What the pieces tell observers: one small value per decision, and the two ends of a request.

Events are values: an observer reads them and never changes them. They are slotted
dataclasses, not frozen ones (hashable all the same, as values are): a frozen one of
eight fields took 1.0 us to build against 0.19 us (timeit, Python 3.11), and one is
built per request and per decision while anything observes (``benchmarks/observability_bench.py`` measures the whole).

Every label-bearing field holds a value from a closed set (an outcome, a reason, a
status) or a name fixed when the application was built (a policy, a check, a route
template): never a path, a key, a token or a user id. ``duration`` is in seconds,
measured by the emitting shell (the core is given no clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backendkit.context import RequestFacts

RateLimitOutcome = Literal["allowed", "limited", "shadow_limited", "failed_open", "failed_closed"]
TokenOutcome = Literal["accepted", "refused"]
GuardOutcome = Literal["allowed", "denied"]
GuardReason = Literal["insufficient_scope", "forbidden"]
JwksOutcome = Literal["ok", "failed", "cooldown_refused"]
IdempotencyOutcome = Literal["first_run", "replay", "in_use", "mismatch", "store_error"]
IdempotencyEnd = Literal["stored", "released", "store_error"]
HealthStatus = Literal["pass", "warn", "fail"]
PageStrategy = Literal["offset", "page", "cursor"]
StoreName = Literal["ratelimit", "idempotency", "revocations", "apikeys", "refresh_tokens"]


@dataclass(slots=True, unsafe_hash=True)
class RequestStart:
    """A request has begun (its id chosen, its log facts bound).

    Attributes:
        facts: The request's log facts. An observer that starts a span replaces
            ``facts.trace`` with it, so log lines carry the active span's ids.
        path: The raw path (for span attributes; never a label).
        scheme: ``http`` or ``https``.
        request_size: The request body's declared size in bytes, if known.
        traceparent: The incoming W3C ``traceparent`` header, if any.
        tracestate: The incoming W3C ``tracestate`` header, if any (vendors' entries
            that travel with ``traceparent``).
    """

    facts: RequestFacts
    path: str
    scheme: str
    request_size: int | None
    traceparent: str | None
    tracestate: str | None = None


@dataclass(slots=True, unsafe_hash=True)
class RequestEnd:
    """A request has been answered.

    Attributes:
        method: The request's method as sent.
        route: The matched route template, or ``None`` when no route matched.
        status: The response status (500 when the application failed before answering).
        duration: Seconds from the start to the last byte of the response.
        request_size: The request body's declared size in bytes, if known.
        response_size: The response body's size in bytes, if known.
        excluded: Whether it is left out of request metrics: a health probe or the
            metrics scrape answered it (wherever it is mounted) and probes are not measured. Observers still
            end what they began for it.
        failed: Whether an exception escaped after the response started.
        deprecated: Whether the answer carried a ``Deprecation`` header (a deprecated route or
            API version, ``backendkit.http``): counted, so a team sees who still calls it.
    """

    method: str
    route: str | None
    status: int
    duration: float
    request_size: int | None
    response_size: int | None
    excluded: bool
    failed: bool
    deprecated: bool = False


@dataclass(slots=True, unsafe_hash=True)
class RateLimitDecided:
    """A rate limit decided a request: ``policy`` is the policy that refused it, or the tightest that admitted it."""

    policy: str
    outcome: RateLimitOutcome
    duration: float


@dataclass(slots=True, unsafe_hash=True)
class TokenVerified:
    """A bearer token was verified: ``reason`` is ``None`` when accepted, else why it was refused."""

    outcome: TokenOutcome
    reason: str | None
    duration: float


@dataclass(slots=True, unsafe_hash=True)
class AccessGuarded:
    """A guard ruled on a verified principal: ``reason`` is ``insufficient_scope`` or ``forbidden`` when denied."""

    outcome: GuardOutcome
    reason: GuardReason | None


@dataclass(slots=True, unsafe_hash=True)
class JwksFetched:
    """A JWKS fetch: ``ok``, ``failed``, or ``cooldown_refused`` (asked too soon after the last one)."""

    outcome: JwksOutcome
    duration: float


@dataclass(slots=True, unsafe_hash=True)
class KeyLookedUp:
    """A ``kid`` was looked up in a JWKS: ``hit`` when the cached set had it."""

    hit: bool


@dataclass(slots=True, unsafe_hash=True)
class IdempotencyBegun:
    """An idempotent request met its key: a first run, a replay, a 409, a 422 or a store error."""

    outcome: IdempotencyOutcome
    duration: float


@dataclass(slots=True, unsafe_hash=True)
class IdempotencyFinished:
    """An idempotent first run ended: its response stored, its key released, or the store failed."""

    outcome: IdempotencyEnd
    duration: float


@dataclass(slots=True, unsafe_hash=True)
class HealthChecked:
    """One health check ran (not a cached result)."""

    check: str
    status: HealthStatus
    duration: float


@dataclass(slots=True, unsafe_hash=True)
class HealthReported:
    """A probe answered: ``probe`` is ``live``, ``ready``, ``startup`` or ``healthz``."""

    probe: str
    status: HealthStatus


@dataclass(slots=True, unsafe_hash=True)
class PageServed:
    """A page was served, by ``offset``, ``page`` or ``cursor``."""

    strategy: PageStrategy


@dataclass(slots=True, unsafe_hash=True)
class CursorRefused:
    """A cursor was refused; ``reason`` is the ``InvalidCursor`` reason."""

    reason: str


@dataclass(slots=True, unsafe_hash=True)
class StoreFailed:
    """A store a piece relies on did not answer (every failure, not only the first of an outage)."""

    store: StoreName


@dataclass(slots=True, unsafe_hash=True)
class BreakerChanged:
    """A piece's breaker opened (its store failed) or closed (it answered again)."""

    store: StoreName
    open: bool


Event = (
    RateLimitDecided
    | TokenVerified
    | AccessGuarded
    | JwksFetched
    | KeyLookedUp
    | IdempotencyBegun
    | IdempotencyFinished
    | HealthChecked
    | HealthReported
    | PageServed
    | CursorRefused
    | StoreFailed
    | BreakerChanged
)
"""Every event a piece emits (the request's two ends are not events: observers keep state between them)."""
