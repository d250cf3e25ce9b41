"""Rate limiting: token bucket (GCRA) and sliding window, several policies checked all-or-nothing.

Rates are written in the notation of the ``limits`` package (``"10/second;1000/hour"``)
and parsed by it; this package needs the ``ratelimit`` extra.

Example:
    >>> from backendkit.ratelimit import RateLimiter, SlidingWindow, TokenBucket
    >>> limiter = RateLimiter([TokenBucket("10/second", burst=20), SlidingWindow("1000/hour")])
    >>> decision = limiter.hit("client-1")
    >>> decision.allowed, decision.remaining
    (True, 19)
"""

from __future__ import annotations

from backendkit._extras import require

require("limits", extra="ratelimit", module="backendkit.ratelimit")

from backendkit.ratelimit._core.decision import Decision, PolicyState  # noqa: E402
from backendkit.ratelimit._core.http import rate_limit_headers, too_many_requests  # noqa: E402
from backendkit.ratelimit._core.keys import (  # noqa: E402
    KeyFunction,
    RequestInfo,
    by_header,
    by_ip,
    by_user,
    ip_key,
    secret_key,
)
from backendkit.ratelimit._core.policies import Policy, SlidingWindow, TokenBucket  # noqa: E402
from backendkit.ratelimit._core.rates import Rate, parse_rates  # noqa: E402
from backendkit.ratelimit._core.store import AsyncStore, Store, StoreError  # noqa: E402  (= backendkit.stores.StoreUnavailable)
from backendkit.ratelimit._limiter import AsyncRateLimiter, RateLimiter  # noqa: E402
from backendkit.ratelimit._rule import DecisionEvent, Limit, Verdict, limit_list  # noqa: E402
from backendkit.ratelimit._stores.memory import MemoryStore  # noqa: E402


def __getattr__(name: str) -> object:
    # The Redis stores need the redis extra; import them only when asked for.
    if name in ("RedisStore", "AsyncRedisStore"):
        from backendkit.ratelimit._stores import redis as _redis

        return getattr(_redis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AsyncRateLimiter",
    "AsyncRedisStore",
    "AsyncStore",
    "Decision",
    "DecisionEvent",
    "KeyFunction",
    "Limit",
    "MemoryStore",
    "Policy",
    "PolicyState",
    "Rate",
    "RateLimiter",
    "RedisStore",
    "RequestInfo",
    "SlidingWindow",
    "Store",
    "StoreError",
    "TokenBucket",
    "Verdict",
    "by_header",
    "by_ip",
    "by_user",
    "ip_key",
    "limit_list",
    "parse_rates",
    "rate_limit_headers",
    "secret_key",
    "too_many_requests",
]
