"""A JWKS read strictly: each key pinned to its algorithm when the set is read, never by a token.

Pure: no I/O. A key's ``alg`` comes from the JWK (or, when absent, from its curve, or
from configuration for RSA), and a token whose ``alg`` differs is refused. Keys for
encryption, without a ``kid``, with private members, or shared secrets (``oct``: a
secret never comes from a URL) are left out, with a warning where it helps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from backendkit.auth._core.compact import json_object
from backendkit.auth._core.jwk import ALG_OF_CURVE, PUBLIC_MEMBERS
from backendkit.auth._core.keyring import Verify
from backendkit.auth._core.keys import ALGORITHMS, KTY_OF_ALG, MAX_KID_LENGTH, PublicKey
from backendkit.errors import ConfigurationError

DEFAULT_MAX_BYTES = 64 * 1024
"""The largest JWKS read (64 KiB: some 150 RSA-2048 keys, where issuers publish a handful)."""

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
    implied = ALG_OF_CURVE.get(jwk["crv"])
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
    if not isinstance(kty, str) or kty not in PUBLIC_MEMBERS:
        raise ValueError(f"kid {kid!r}: unsupported kty {_show(kty)}")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise ValueError(f"kid {kid!r}: holds private key members; the issuer publishes a secret")
    members = PUBLIC_MEMBERS[kty]
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


__all__ = ["DEFAULT_MAX_BYTES", "JWKEntry", "KeySet", "parse_discovery", "parse_jwks"]
