"""What a check means over HTTP: the IETF RateLimit headers, Retry-After and the 429. Pure."""

from __future__ import annotations

import functools
import math

from backendkit.errors import TooManyRequests
from backendkit.ratelimit._core.decision import Decision


@functools.lru_cache(maxsize=1024)  # policy names come from configuration: few, and asked for on every response
def _sf_string(value: str) -> str:
    # A Structured Field string: printable ASCII in quotes, with " and backslash escaped. Policies refuse
    # any other name (check_name); the filter only keeps a name made some other way off the wire.
    cleaned = "".join(c for c in value if " " <= c <= "~")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _seconds(value: float) -> int:
    return max(0, math.ceil(value - 1e-9))


def policy_field(decision: Decision) -> str:
    """The ``RateLimit-Policy`` value: the same for every check of one limiter, so callers may keep it."""
    return ", ".join(f"{_sf_string(p.name)};q={p.limit};w={p.window}" for p in decision.policies)


def rate_limit_headers(decision: Decision, *, legacy: bool = False, policy: str | None = None) -> list[tuple[str, str]]:
    """The headers of a checked response, from the check's own result (no second trip to the store).

    ``RateLimit-Policy`` and ``RateLimit`` as in draft-ietf-httpapi-ratelimit-headers
    (one list item per policy: ``q`` quota, ``w`` window, ``r`` remaining, ``t``
    seconds until reset), ``Retry-After`` on a refusal only (whole seconds,
    rounded up so a client that waits that long gets through), and with
    ``legacy`` the ``X-RateLimit-Limit/-Remaining/-Reset`` trio of the tightest
    policy (``Reset`` in seconds from now).

    Example:
        >>> from backendkit.ratelimit import RateLimiter, SlidingWindow
        >>> decision = RateLimiter(SlidingWindow("5/minute", name="minute")).hit("ann")
        >>> dict(rate_limit_headers(decision))["RateLimit-Policy"]
        '"minute";q=5;w=60'
    """
    policies = decision.policies
    if len(policies) == 1:  # the common case, without the generator and the join
        p = policies[0]
        state = f"{_sf_string(p.name)};r={p.remaining};t={_seconds(p.reset_after)}"
    else:
        state = ", ".join(f"{_sf_string(p.name)};r={p.remaining};t={_seconds(p.reset_after)}" for p in policies)
    headers = [("RateLimit-Policy", policy or policy_field(decision)), ("RateLimit", state)]
    if legacy:
        headers += [
            ("X-RateLimit-Limit", str(decision.limit)),
            ("X-RateLimit-Remaining", str(decision.remaining)),
            ("X-RateLimit-Reset", str(_seconds(decision.reset_after))),
        ]
    if not decision.allowed and decision.retry_after is not None:
        headers.append(("Retry-After", str(max(1, _seconds(decision.retry_after)))))
    return headers


def too_many_requests(decision: Decision) -> TooManyRequests:
    """The 429 of a refused check, as the error envelope renders it.

    ``details`` carries ``retry_after`` (whole seconds, rounded up) and the
    policy that refused; ``Retry-After`` is set from the same number.
    """
    wait = max(1, _seconds(decision.retry_after or 0.0))
    refusing = next((p.name for p in decision.policies if p.retry_after is not None), None)
    return TooManyRequests(wait, details={"retry_after": wait, "policy": refusing})
