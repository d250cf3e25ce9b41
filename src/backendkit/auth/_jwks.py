"""A JWKS, read strictly, and the cache policy that decides when to fetch it again.

Pure: no I/O, no clock, no locks. The shell (:class:`backendkit.auth.jwks.JWKSClient`)
downloads, reads the clock, holds the lock and swaps in the :class:`CacheState` these
functions return; the state is immutable, so a reader never sees half an update.

Every key is pinned when the set is read, never by a token: its ``alg`` comes from the
JWK (or, when absent, from its curve, or from configuration for RSA), and a token whose
``alg`` differs is refused. Keys for encryption, without a ``kid``, with private members,
or shared secrets (``oct``: a secret never comes from a URL) are left out.

Unknown kids: a storm of random kids is bounded by the cooldown (one fetch per
cooldown, whatever the kids). A kid a set lacked is also remembered as absent
(:func:`remember_absent`: at most 128 kids, for a cooldown by default), so one bad kid
sent over and over costs no fetch in that time, even right after the refresh of a stale
set. The negative cache is kept short on purpose: a longer one would refuse a key an
issuer published late (a CDN in front of its JWKS) for minutes after it appears; a new
set clears it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from backendkit.auth._compact import json_object
from backendkit.auth._errors import InvalidToken
from backendkit.auth._keyring import Verify
from backendkit.auth._keys import ALGORITHMS, KTY_OF_ALG, MAX_KID_LENGTH, PublicKey
from backendkit.errors import ConfigurationError

DEFAULT_MAX_BYTES = 64 * 1024
"""The largest JWKS read (64 KiB: some 150 RSA-2048 keys, where issuers publish a handful)."""

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

_ALG_OF_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "Ed25519": "EdDSA", "Ed448": "EdDSA"}
_PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True, slots=True)
class JWKEntry:
    """One usable key of a set: its pinned ``alg``, its verify function and what it was built from."""

    alg: str
    verify: Verify
    material: tuple[tuple[str, str], ...]  # the public members, sorted: unchanged keys are not rebuilt


@dataclass(frozen=True, slots=True)
class KeySet:
    """A JWKS as read: the usable keys by kid, and why the others were left out (for the log)."""

    keys: Mapping[str, JWKEntry]
    warnings: tuple[str, ...] = ()


def _show(value: Any) -> str:
    """``repr(value)`` cut short: a warning quotes what it refused, not a whole document."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _pinned_alg(jwk: Mapping[str, Any], kty: str, rsa_alg: str | None) -> str:
    alg = jwk.get("alg")
    if alg is not None and (not isinstance(alg, str) or alg not in ALGORITHMS or KTY_OF_ALG[alg] != kty):
        raise ValueError(f"alg {_show(alg)} cannot be used with a {kty} key")
    if kty == "RSA":
        if alg is None and rsa_alg is None:
            raise ValueError('RSA key without "alg" is ambiguous (RS256? PS256?); set rsa_alg to bind one')
        return str(alg or rsa_alg)
    # EC and OKP: the curve fixes the algorithm, so a declared alg must agree with it.
    implied = _ALG_OF_CURVE.get(jwk["crv"])
    if implied is None or KTY_OF_ALG[implied] != kty:
        raise ValueError(f"curve {_show(jwk['crv'])} names no signature algorithm for a {kty} key")
    if alg is not None and alg != implied:
        raise ValueError(f"alg {alg!r} does not match curve {jwk['crv']!r}")
    return implied


def _read_key(jwk: Any, rsa_alg: str | None) -> tuple[str, str, tuple[tuple[str, str], ...]] | None:
    """``(kid, alg, public members)``, ``None`` for a key not meant for signatures, ``ValueError`` if unusable."""
    if not isinstance(jwk, dict):
        raise ValueError("not a JSON object")
    if jwk.get("use", "sig") != "sig":
        return None  # an encryption key: not ours, not worth a warning
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise ValueError(f"no usable kid (a string of 1 to {MAX_KID_LENGTH} characters)")
    kty = jwk.get("kty")
    if kty == "oct":
        raise ValueError(f"kid {kid!r}: a shared secret (oct) is never taken from a URL")
    if not isinstance(kty, str) or kty not in _PUBLIC_MEMBERS:
        raise ValueError(f"kid {kid!r}: unsupported kty {_show(kty)}")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise ValueError(f"kid {kid!r}: holds private key members; the issuer publishes a secret")
    members = _PUBLIC_MEMBERS[kty]
    if not all(isinstance(jwk.get(name), str) and jwk[name] for name in members):
        raise ValueError(f"kid {kid!r}: {kty} needs {', '.join(members)} as strings")
    try:
        alg = _pinned_alg(jwk, kty, rsa_alg)
    except ValueError as exc:
        raise ValueError(f"kid {kid!r}: {exc}") from None
    return kid, alg, tuple(sorted((name, jwk[name]) for name in ("kty", *members)))


def parse_jwks(
    raw: bytes,
    build: Callable[[PublicKey], Verify],
    *,
    previous: Mapping[str, JWKEntry] | None = None,
    rsa_alg: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> KeySet:
    """The usable keys of a JWKS document; ``ValueError`` if it is not one.

    ``build`` turns a key into its verify function (``backend.verifier``); a key it
    refuses with :class:`ConfigurationError` (a 1024-bit RSA key, an alg the backend
    lacks) is left out with a warning. A key identical to one in ``previous`` keeps
    its verify function. Two keys sharing a kid are both left out.

    Example:
        >>> doc = b'{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": "AA", "y": "AA"},'
        >>> doc += b' {"kty": "RSA", "kid": "k2", "n": "AA", "e": "AQAB"}]}'
        >>> found = parse_jwks(doc, build=lambda key: lambda signing_input, signature: False)
        >>> {kid: entry.alg for kid, entry in found.keys.items()}
        {'k1': 'ES256'}
        >>> print(*found.warnings)
        JWKS key skipped: kid 'k2': RSA key without "alg" is ambiguous (RS256? PS256?); set rsa_alg to bind one
    """
    if len(raw) > max_bytes:
        raise ValueError(f"a JWKS larger than {max_bytes} bytes")
    document = json_object(raw)  # UTF-8, no duplicate members, bounded nesting
    listed = document.get("keys")
    if not isinstance(listed, list):
        raise ValueError('a JWKS is an object with a "keys" array')
    warnings: list[str] = []
    read: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    shared: set[str] = set()
    for jwk in listed:
        try:
            found = _read_key(jwk, rsa_alg)
        except ValueError as exc:
            warnings.append(f"JWKS key skipped: {exc}")
            continue
        if found is not None:
            kid, alg, material = found
            if kid in read:
                shared.add(kid)
            read[kid] = (alg, material)
    keys: dict[str, JWKEntry] = {}
    for kid, (alg, material) in read.items():
        if kid in shared:
            warnings.append(f"JWKS keys skipped: several keys share kid {kid!r}")
            continue
        before = (previous or {}).get(kid)
        if before is not None and (before.alg, before.material) == (alg, material):
            keys[kid] = before
        else:
            try:
                keys[kid] = JWKEntry(alg, build(PublicKey(dict(material), alg=alg, kid=kid)), material)
            except ConfigurationError as exc:
                warnings.append(f"JWKS key skipped: kid {kid!r}: {exc}")
    return KeySet(keys, tuple(warnings))


def parse_discovery(raw: bytes, issuer: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The ``jwks_uri`` of an OpenID Provider configuration document whose ``issuer`` is ``issuer``.

    Example:
        >>> parse_discovery(b'{"issuer": "https://id.test", "jwks_uri": "https://id.test/keys"}', "https://id.test")
        'https://id.test/keys'
    """
    if len(raw) > max_bytes:
        raise ValueError(f"a discovery document larger than {max_bytes} bytes")
    document = json_object(raw)
    if document.get("issuer") != issuer:
        raise ValueError(f"the discovery document is for issuer {_show(document.get('issuer'))}, not {issuer!r}")
    uri = document.get("jwks_uri")
    if not isinstance(uri, str) or not uri:
        raise ValueError("the discovery document has no jwks_uri")
    return uri


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
    absent: dict[str, float], kid: str, now: float, policy: CachePolicy, size: int = NEGATIVE_SIZE
) -> None:
    """Note in ``absent`` (kid → until) that the set lacked ``kid`` at ``now``; at most ``size`` kids are kept.

    Example:
        >>> absent: dict[str, float] = {}
        >>> remember_absent(absent, "forged", 100.0, CachePolicy())
        >>> absent, need(CacheState(keys={}), "forged", 120.0, absent["forged"]) is Need.NOTHING
        ({'forged': 130.0}, True)
    """
    if policy.negative_ttl <= 0:
        return
    for stale in [k for k, until in absent.items() if until <= now]:
        del absent[stale]
    while len(absent) >= size:
        del absent[next(iter(absent))]  # the oldest entry (dicts keep insertion order)
    absent.pop(kid, None)
    absent[kid] = now + policy.negative_ttl


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
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TTL",
    "MAX_TTL",
    "MIN_TTL",
    "NEGATIVE_SIZE",
    "NEGATIVE_TTL",
    "CachePolicy",
    "CacheState",
    "JWKEntry",
    "KeySet",
    "Need",
    "failed",
    "loaded",
    "need",
    "parse_discovery",
    "parse_jwks",
    "remember_absent",
    "select",
]
