"""Claim checks with strict types and a bounded leeway; the time is passed in.

Pure. ``exp`` is required and, like ``nbf`` and ``iat``, must be a number of seconds
from 0 to :data:`MAX_TIME` (a bool, a string, ``null``, ``1e400`` or a 400-digit integer
is ``bad_claim``, never a ``TypeError`` or an ``OverflowError``). ``iss``
and ``aud`` are required whenever they are configured; ``sub`` is required and a
string, since a principal is somebody.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backendkit.auth._core.errors import InvalidToken
from backendkit.errors import ConfigurationError

DEFAULT_LEEWAY = 5.0
"""Seconds of clock skew forgiven on ``exp``, ``nbf`` and ``iat`` by default."""

MAX_LEEWAY = 60.0
"""The largest leeway accepted: more forgives a clock that is simply wrong."""

MAX_JTI_LENGTH = 256

MAX_TIME = 253_402_300_799
"""The latest time a claim may name (9999-12-31T23:59:59Z): a larger ``exp`` is a mistake or an attack,
and would not fit a revocation's TTL or a float."""


def _strings(value: str | Iterable[str] | None, name: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    values = frozenset([value] if isinstance(value, str) else value)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ConfigurationError(f"{name} is a non-empty string or a list of them")
    return values


@dataclass(frozen=True)
class ClaimRules:
    """What a token's claims must satisfy.

    Args:
        issuer: The accepted ``iss`` (one, or several); the claim is then required.
        audience: The accepted ``aud`` values; the token's ``aud`` (a string or a
            list) must name at least one. The claim is then required.
        leeway: Clock skew forgiven, in seconds, at most 60.
        typ: The ``typ`` header required, e.g. ``"at+jwt"`` (RFC 9068); compared
            without case and with an optional ``application/`` prefix.
        required: Claims that must be present besides ``exp`` and ``sub``.
    """

    issuer: frozenset[str]
    audience: frozenset[str]
    leeway: float
    typ: str | None
    required: frozenset[str]

    @classmethod
    def build(
        cls,
        *,
        issuer: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        typ: str | None = None,
        required: Iterable[str] = (),
    ) -> ClaimRules:
        """Checked rules; a ``ConfigurationError`` for a leeway beyond 60 s or an empty name."""
        if isinstance(leeway, bool) or not isinstance(leeway, (int, float)) or not 0 <= leeway <= MAX_LEEWAY:
            raise ConfigurationError(f"leeway is 0 to {MAX_LEEWAY:.0f} seconds, not {leeway!r}")
        if typ is not None and (not isinstance(typ, str) or not typ):
            raise ConfigurationError("typ is a non-empty string")
        return cls(
            issuer=_strings(issuer, "issuer"),
            audience=_strings(audience, "audience"),
            leeway=float(leeway),
            typ=_media_type(typ) if typ else None,
            required=frozenset(required),
        )


def _media_type(typ: str) -> str:
    lowered = typ.lower()
    return lowered[len("application/") :] if lowered.startswith("application/") else lowered


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if type(value) is int or type(value) is float:  # (a bool is of neither type)
        if 0 <= value <= MAX_TIME:  # (NaN compares false; infinities and huge integers are out of range)
            return value
        raise InvalidToken("bad_claim")
    if value is None and name not in claims:
        return None
    raise InvalidToken("bad_claim")  # null, a string, a list...


def check_claims(header: Mapping[str, Any], claims: Mapping[str, Any], rules: ClaimRules, now: float) -> None:
    """Raise :class:`InvalidToken` unless ``claims`` (and the header's ``typ``) satisfy ``rules`` at ``now``.

    Example:
        >>> rules = ClaimRules.build(audience="api")
        >>> check_claims({}, {"sub": "u1", "exp": 200, "aud": ["api", "x"]}, rules, now=100)
        >>> check_claims({}, {"sub": "u1", "exp": 50, "aud": "api"}, rules, now=100)
        Traceback (most recent call last):
        ...
        backendkit.auth._core.errors.InvalidToken: The access token is invalid or has expired.
    """
    if rules.typ is not None:
        typ = header.get("typ")
        if not isinstance(typ, str) or _media_type(typ) != rules.typ:
            raise InvalidToken("wrong_type")
    leeway = rules.leeway
    exp = _number(claims, "exp")
    if exp is None:
        raise InvalidToken("missing_claim")
    nbf = _number(claims, "nbf")
    iat = _number(claims, "iat")
    subject = claims.get("sub")
    if subject is None:
        raise InvalidToken("missing_claim")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("bad_claim")
    if "jti" in claims:  # present, it is a string (null would be one jti shared by many tokens)
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise InvalidToken("bad_claim")
    for name in rules.required:
        if claims.get(name) is None:  # absent or null
            raise InvalidToken("missing_claim")
    if rules.issuer:
        issuer = claims.get("iss")
        if issuer is None:
            raise InvalidToken("missing_claim")
        if not isinstance(issuer, str):
            raise InvalidToken("bad_claim")
        if issuer not in rules.issuer:
            raise InvalidToken("wrong_issuer")
    if rules.audience:
        _check_audience(claims, rules.audience)
    if now >= exp + leeway:
        raise InvalidToken("expired")
    if nbf is not None and now + leeway < nbf:
        raise InvalidToken("not_yet_valid")
    if iat is not None and now + leeway < iat:
        raise InvalidToken("issued_in_future")


def _check_audience(claims: Mapping[str, Any], accepted: frozenset[str]) -> None:
    audience = claims.get("aud")
    if audience is None:
        raise InvalidToken("missing_claim")
    if isinstance(audience, str):
        if audience not in accepted:
            raise InvalidToken("wrong_audience")
        return
    if not isinstance(audience, list) or not audience or not all(isinstance(a, str) for a in audience):
        raise InvalidToken("bad_claim")
    if accepted.isdisjoint(audience):
        raise InvalidToken("wrong_audience")


__all__ = ["DEFAULT_LEEWAY", "MAX_JTI_LENGTH", "MAX_LEEWAY", "MAX_TIME", "ClaimRules", "check_claims"]
