"""The JWKS cache policy: when to fetch the set again, and what a lookup needs.

Pure: no I/O, no clock, no locks. The shell (:class:`backendkit.auth.jwks.JWKSClient`)
downloads, reads the clock, holds the lock and swaps in the :class:`CacheState` these
functions return; the state is immutable, so a reader never sees half an update.
The set itself is read by :mod:`backendkit.auth._core.jwkset`.

Unknown kids: a storm of random kids is bounded by the cooldown (one fetch per
cooldown, whatever the kids). A kid a set lacked is also remembered as absent
(:func:`remember_absent`: at most 128 kids, for a cooldown by default, from its first
miss), so one bad kid sent over and over costs no fetch in that time, even right after
the refresh of a stale set. The negative cache is kept short on purpose: a longer one
would refuse a key an issuer published late (a CDN in front of its JWKS) for minutes
after it appears; a new set clears it. Repeated misses never extend an entry: a
rotated-in kid that clients keep sending is fetched a cooldown after its first miss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum

from backendkit.auth._core.errors import InvalidToken
from backendkit.auth._core.jwkset import JWKEntry, KeySet
from backendkit.auth._core.keyring import Verify
from backendkit.errors import ConfigurationError

DEFAULT_TTL = 300.0
"""Seconds a set is fresh when the response has no usable ``max-age`` (or says ``no-store``)."""

MIN_TTL = 60.0
"""The shortest freshness honoured: a ``max-age=0`` issuer is not fetched on every request."""

MAX_TTL = 86400.0
"""The longest freshness honoured: a removed key is dropped within a day whatever ``max-age`` says."""

DEFAULT_COOLDOWN = 30.0
"""Seconds between fetches an unknown kid or a failure may cause: the bound on forged-kid storms."""

NEGATIVE_TTL = DEFAULT_COOLDOWN
"""Seconds a kid the set lacked is answered as unknown without a fetch (the cooldown, by default)."""

NEGATIVE_SIZE = 128
"""The most kids remembered as absent (the oldest is forgotten first)."""


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long a set is fresh and how often a fetch may be tried; ``ConfigurationError`` if nonsensical."""

    cooldown: float = DEFAULT_COOLDOWN
    min_ttl: float = MIN_TTL
    max_ttl: float = MAX_TTL
    default_ttl: float = DEFAULT_TTL
    negative_ttl: float = NEGATIVE_TTL

    def __post_init__(self) -> None:
        for name in ("cooldown", "min_ttl", "max_ttl", "default_ttl", "negative_ttl"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigurationError(f"{name} is a finite number of seconds, not {value!r}")
        if self.min_ttl > self.max_ttl:
            raise ConfigurationError(f"min_ttl ({self.min_ttl}) is above max_ttl ({self.max_ttl})")

    def ttl(self, cache_control: str | None) -> float:
        """Seconds a set is fresh: ``max-age`` (else the default) clamped to [min_ttl, max_ttl].

        Example:
            >>> policy = CachePolicy()
            >>> policy.ttl("public, max-age=600"), policy.ttl("max-age=5"), policy.ttl("no-store")
            (600.0, 60.0, 300.0)
        """
        ages: list[str] = []
        for directive in (cache_control or "").split(","):
            name, _, value = directive.strip().partition("=")
            name = name.strip().lower()
            if name in ("no-store", "no-cache"):
                ages = []  # "do not cache" gets the default: refetching per request would amplify any load
                break
            if name == "max-age":
                ages.append(value.strip().strip('"'))
        age = float(ages[0]) if len(ages) == 1 and ages[0].isascii() and ages[0].isdigit() else self.default_ttl
        return min(max(age, self.min_ttl), self.max_ttl)


class Need(Enum):
    """What a lookup needs before it can answer."""

    NOTHING = "nothing"  # answer from the cache (a hit, or a refusal during the cooldown)
    REFRESH = "refresh"  # the kid is cached but stale: refresh if nobody is, else answer stale
    FETCH = "fetch"  # the kid is not cached and a fetch is allowed: wait for one


@dataclass(frozen=True, slots=True)
class CacheState:
    """The cached set (``None`` until one loads), when it goes stale, and the earliest next fetch."""

    keys: Mapping[str, JWKEntry] | None = None
    expires_at: float = -math.inf
    retry_at: float = -math.inf


def need(state: CacheState, kid: str, now: float, absent_until: float = -math.inf) -> Need:
    """What looking up ``kid`` at ``now`` needs: every fetch an unknown kid causes waits out the cooldown.

    ``absent_until`` is when the negative cache forgets ``kid`` (see :func:`remember_absent`).
    """
    if state.keys is not None and kid in state.keys:
        return Need.REFRESH if now >= state.expires_at and now >= state.retry_at else Need.NOTHING
    return Need.FETCH if now >= state.retry_at and now >= absent_until else Need.NOTHING


def remember_absent(
    absent: Mapping[str, float], kid: str, now: float, policy: CachePolicy, size: int = NEGATIVE_SIZE
) -> Mapping[str, float]:
    """``absent`` (kid → until) noting that the set lacked ``kid`` at ``now``; at most ``size`` kids are kept.

    Only the first miss starts an entry: a miss answered from the entry itself does
    not extend it (else a client retrying a newly published kid more often than
    ``negative_ttl`` would keep it absent for ever). So a kid first seen missing at
    ``t`` may be fetched from ``t + negative_ttl`` on, whatever the retry rate. The
    mapping is not changed: an unchanged one is returned as it is, else a new one.

    Example:
        >>> absent = remember_absent({}, "forged", 100.0, CachePolicy())
        >>> absent, need(CacheState(keys={}), "forged", 120.0, absent["forged"]) is Need.NOTHING
        ({'forged': 130.0}, True)
        >>> remember_absent(absent, "forged", 125.0, CachePolicy()) is absent  # not renewed
        True
    """
    if policy.negative_ttl <= 0 or absent.get(kid, -math.inf) > now:
        return absent
    kept = {k: until for k, until in absent.items() if until > now and k != kid}
    while len(kept) >= size:
        del kept[next(iter(kept))]  # the oldest entry (dicts keep insertion order)
    kept[kid] = now + policy.negative_ttl
    return kept


def select(state: CacheState, kid: str, alg: str) -> Verify:
    """The verify function of ``kid`` for ``alg``, or :class:`InvalidToken` saying why not."""
    if state.keys is None:
        raise InvalidToken("keys_unavailable")
    entry = state.keys.get(kid)
    if entry is None:
        raise InvalidToken("unknown_kid")
    if entry.alg != alg:
        raise InvalidToken("alg_mismatch")
    return entry.verify


def loaded(policy: CachePolicy, keys: KeySet, cache_control: str | None, now: float) -> CacheState:
    """The state after a fetch at ``now`` brought ``keys``."""
    return CacheState(keys.keys, now + policy.ttl(cache_control), now + policy.cooldown)


def failed(state: CacheState, policy: CachePolicy, now: float) -> CacheState:
    """The state after a fetch at ``now`` failed: the last good set stays, the next try waits a cooldown."""
    return replace(state, retry_at=now + policy.cooldown)


__all__ = [
    "DEFAULT_COOLDOWN",
    "DEFAULT_TTL",
    "MAX_TTL",
    "MIN_TTL",
    "NEGATIVE_SIZE",
    "NEGATIVE_TTL",
    "CachePolicy",
    "CacheState",
    "Need",
    "failed",
    "loaded",
    "need",
    "remember_absent",
    "select",
]
