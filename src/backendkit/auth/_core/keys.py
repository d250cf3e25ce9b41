"""Keys as configuration binds them: each to exactly one algorithm, and optionally a ``kid``.

Pure: the key material is held and checked for shape here; a signature backend
turns it into a key object once, when the verifier is built. A token never
chooses a key's algorithm. It only selects, by ``kid`` and ``alg``, among the
entries configuration made, so no header can turn an RSA public key into an HMAC
secret (the algorithm confusion attacks).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backendkit.auth._core.jwk import public_members
from backendkit.errors import ConfigurationError

HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGS = frozenset({"ES256", "ES384", "ES512"})
OKP_ALGS = frozenset({"EdDSA"})
ALGORITHMS = HMAC_ALGS | RSA_ALGS | EC_ALGS | OKP_ALGS
"""Every algorithm a key can be bound to (a backend may support fewer)."""

KTY_OF_ALG = {**dict.fromkeys(HMAC_ALGS, "oct"), **dict.fromkeys(RSA_ALGS, "RSA")}
KTY_OF_ALG |= {**dict.fromkeys(EC_ALGS, "EC"), "EdDSA": "OKP"}

MIN_SECRET_BYTES = 32
"""The shortest HMAC secret accepted: 256 bits, as RFC 7518 §3.2 asks for HS256."""

MAX_KID_LENGTH = 256
"""The longest ``kid`` looked up; a longer one is nobody's key."""

# What an HMAC secret must not look like: public keys in any of their usual spellings.
_PEM = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----")
_SSH = re.compile(rb"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+) ")
_EC_POINT_SIZES = {65, 97, 133}  # uncompressed P-256, P-384, P-521 points: 0x04 || x || y
_COMPRESSED_POINT_SIZES = {33, 49, 67}


def _looks_like_public_key(secret: bytes) -> str | None:
    # Secrets come from env files and mounted files: a newline, a NUL or spaces around the key
    # must not hide it, so the trimmed secret is tested too.
    stripped = secret.strip(b" \t\r\n\0")
    if _PEM.search(stripped) or _SSH.match(stripped):
        return "a PEM or SSH key"
    if stripped[:1] == b"{" and b'"kty"' in stripped:
        return "a JWK"
    for candidate in _trimmings(secret):
        if _is_der_sequence(candidate):
            return "a DER-encoded key or certificate"
        if _is_ec_point(candidate):
            return "an EC public point"
    for decoded in _decodings(stripped):
        if _is_der_sequence(decoded) or _is_ec_point(decoded):
            return "an encoded (base64, base64url or hex) key or certificate"
    return None


_PADDING = b" \t\r\n\0"
_MAX_TRIM = 8  # bytes of padding tried on each side: a file's newline, a CRLF, a NUL, a few spaces


def _trimmings(secret: bytes) -> list[bytes]:
    """``secret`` without each amount of the padding around it that a file or an env var adds.

    Binary keys may end or start with a byte that looks like padding (an EC point's last
    coordinate byte can be 0x0a), so stripping all of it could cut into the key itself:
    each cut, up to ``_MAX_TRIM`` bytes a side, is tried.
    """
    lead = min(len(secret) - len(secret.lstrip(_PADDING)), _MAX_TRIM)
    trail = min(len(secret) - len(secret.rstrip(_PADDING)), _MAX_TRIM)
    return [secret[i : len(secret) - j] for i in range(lead + 1) for j in range(trail + 1)]


def _is_ec_point(data: bytes) -> bool:
    return (data[:1] == b"\x04" and len(data) in _EC_POINT_SIZES) or (
        data[:1] in (b"\x02", b"\x03") and len(data) in _COMPRESSED_POINT_SIZES
    )


def _is_der_sequence(data: bytes) -> bool:
    # An ASN.1 SEQUENCE whose length field covers exactly the rest: how every key and certificate starts.
    # The smallest public key in DER (Ed25519's) is 44 bytes: shorter random secrets are never taken for one.
    if len(data) < 44 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return 2 + first == len(data)
    count = first & 0x7F
    if count == 0 or count > 4 or len(data) < 2 + count:
        return False
    return 2 + count + int.from_bytes(data[2 : 2 + count], "big") == len(data)


def _decodings(text: bytes) -> list[bytes]:
    """``text`` read as base64, base64url and hex, where it is one of them."""
    compact = b"".join(text.split())
    found = []
    for alphabet in (b"+/", b"-_"):
        try:
            padded = compact + b"=" * (-len(compact) % 4)
            found.append(base64.b64decode(padded, altchars=alphabet, validate=True))
        except (binascii.Error, ValueError):
            pass
    with contextlib.suppress(UnicodeDecodeError, ValueError):
        found.append(bytes.fromhex(compact.decode("ascii")))
    return found


def _check_kid(kid: str | None) -> str | None:
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH):
        raise ConfigurationError(f"a kid is a string of 1 to {MAX_KID_LENGTH} characters, not {kid!r}")
    return kid


def _check_alg(alg: str, allowed: frozenset[str], kind: str) -> str:
    if alg not in allowed:
        raise ConfigurationError(f"{kind} is bound to one of {sorted(allowed)}, not {alg!r}")
    return alg


@dataclass(frozen=True)
class HMACKey:
    """A shared secret, bound to one of HS256, HS384, HS512.

    The secret must be at least 32 bytes and must not look like a public key
    (PEM, SSH, DER, base64 DER, a JWK or a raw EC point): an HMAC keyed with a
    public key is how algorithm confusion forges tokens.

    Example:
        >>> HMACKey("0123456789abcdef0123456789abcdef").alg
        'HS256'
        >>> HMACKey("short")
        Traceback (most recent call last):
        ...
        backendkit.errors._exceptions.ConfigurationError: an HMAC secret needs at least 32 bytes, not 5
    """

    secret: bytes | str = field(repr=False)
    alg: str = "HS256"
    kid: str | None = None

    def __post_init__(self) -> None:
        _check_alg(self.alg, HMAC_ALGS, "an HMACKey")
        _check_kid(self.kid)
        secret = self.secret.encode("utf-8") if isinstance(self.secret, str) else self.secret
        if not isinstance(secret, bytes):
            raise ConfigurationError("an HMAC secret is bytes or str")
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigurationError(f"an HMAC secret needs at least {MIN_SECRET_BYTES} bytes, not {len(secret)}")
        looks = _looks_like_public_key(secret)
        if looks is not None:
            raise ConfigurationError(f"this HMAC secret looks like {looks}: an HMAC is never keyed with a public key")
        object.__setattr__(self, "secret", secret)

    @property
    def material(self) -> bytes:
        """The secret's bytes."""
        assert isinstance(self.secret, bytes)
        return self.secret


@dataclass(frozen=True)
class PublicKey:
    """A public key that verifies one of RS*, PS*, ES* or EdDSA: a PEM (str or bytes) or a JWK (a mapping).

    Example:
        >>> PublicKey({"kty": "EC", "crv": "P-256", "x": "...", "y": "..."}, alg="ES256", kid="k1").kty
        'EC'
    """

    key: str | bytes | Mapping[str, Any] = field(repr=False)
    alg: str = "RS256"
    kid: str | None = None

    def __post_init__(self) -> None:
        _check_alg(self.alg, RSA_ALGS | EC_ALGS | OKP_ALGS, "a PublicKey")
        _check_kid(self.kid)
        if isinstance(self.key, Mapping):
            kty = self.key.get("kty")
            if kty != self.kty:
                raise ConfigurationError(f"a JWK of kty {kty!r} cannot verify {self.alg}")
            if "d" in self.key or "k" in self.key:
                raise ConfigurationError("this JWK holds private material: configure its public part")
            if self.key.get("alg", self.alg) != self.alg:
                raise ConfigurationError(f"this JWK says alg {self.key['alg']!r}; it cannot be bound to {self.alg}")
            if self.key.get("use", "sig") != "sig":
                raise ConfigurationError("this JWK is not for signatures (its use is not 'sig')")
        elif not isinstance(self.key, (str, bytes)):
            raise ConfigurationError("a public key is PEM text or a JWK mapping")

    @property
    def kty(self) -> str:
        """The JWK key type its algorithm needs: ``RSA``, ``EC`` or ``OKP``."""
        return KTY_OF_ALG[self.alg]

    def to_jwk(self) -> dict[str, str]:
        """This key as a public JWK (RFC 7517), to publish: its members, ``alg``, ``use: "sig"`` and its ``kid``.

        From a PEM (``BEGIN PUBLIC KEY``, or PKCS #1's ``BEGIN RSA PUBLIC KEY``) or a JWK,
        written canonically; only the public members ever come out. A private key, a
        certificate, an RSA key under 2048 bits, an EC point off its curve or a curve
        another algorithm needs is a :class:`ConfigurationError`. To publish a set, see
        :class:`backendkit.auth.JWKSDocument`.

        Example:
            >>> jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
            >>> PublicKey(jwk, alg="EdDSA", kid="2026-11").to_jwk()["kid"]
            '2026-11'
        """
        jwk = public_members(self.key, self.kty, self.alg)
        jwk.update(alg=self.alg, use="sig")
        if self.kid is not None:
            jwk["kid"] = self.kid
        return jwk


@dataclass(frozen=True)
class PrivateKey:
    """A private key that signs tokens (:func:`backendkit.auth.issue`): a PEM, bound to one algorithm."""

    key: str | bytes = field(repr=False)
    alg: str = "RS256"
    kid: str | None = None

    def __post_init__(self) -> None:
        _check_alg(self.alg, RSA_ALGS | EC_ALGS | OKP_ALGS, "a PrivateKey")
        _check_kid(self.kid)
        if not isinstance(self.key, (str, bytes)):
            raise ConfigurationError("a private key is PEM text")


VerifyingKey = HMACKey | PublicKey
SigningKey = HMACKey | PrivateKey


def check_unique(keys: Iterable[VerifyingKey]) -> tuple[VerifyingKey, ...]:
    """The keys, refusing two with one kid (a lookup by kid must find one key)."""
    listed = tuple(keys)
    kids = [key.kid for key in listed if key.kid is not None]
    if len(kids) != len(set(kids)):
        raise ConfigurationError("two keys share a kid; each kid names one key")
    for key in listed:
        if not isinstance(key, (HMACKey, PublicKey)):
            raise ConfigurationError(f"a verification key is an HMACKey or a PublicKey, not {type(key).__name__}")
    return listed


__all__ = [
    "ALGORITHMS",
    "MAX_KID_LENGTH",
    "MIN_SECRET_BYTES",
    "HMACKey",
    "PrivateKey",
    "PublicKey",
    "SigningKey",
    "VerifyingKey",
    "check_unique",
]
