"""Public keys written as JWKs (RFC 7517, RFC 7518 §6, RFC 8037): read from PEM or a JWK, checked, canonical.

Pure: a PEM is read with the small DER reader below (SubjectPublicKeyInfo, RFC 5280
§4.1.2.7, and PKCS #1's ``RSAPublicKey``), without a cryptography library. Only
public signature keys come out: a private key, a certificate or a shared secret is a
:class:`ConfigurationError` saying what to configure instead. Members are canonical
(RSA integers without leading zeros, EC coordinates at their full length), so one key
has one JWK. The checks match what the signature backends refuse when they load a
key: RSA under 2048 bits, an EC point off its curve, a curve another algorithm needs.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from backendkit.auth._core.compact import b64url_decode, b64url_encode
from backendkit.errors import ConfigurationError

ALG_OF_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "Ed25519": "EdDSA", "Ed448": "EdDSA"}
"""The one signature algorithm each curve is used with (RFC 7518 §3.4, RFC 8037 §3.1)."""

PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}
"""The members that make up a public key of each type, after ``kty``."""

MIN_RSA_BITS = 2048

_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
_CURVE_OF_OID = {"1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521"}
_OKP_OF_OID = {"1.3.101.112": "Ed25519", "1.3.101.113": "Ed448"}
_OKP_SIZES = {"Ed25519": 32, "Ed448": 57}
# The NIST curves' prime p and coefficient b (a = -3), FIPS 186-4 appendix D.1.2: a point is on its
# curve when y^2 = x^3 - 3x + b (mod p).
_NIST = {
    "P-256": (
        2**256 - 2**224 + 2**192 + 2**96 - 1,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    ),
    "P-384": (
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        int(
            "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
            16,
        ),
    ),
    "P-521": (
        2**521 - 1,
        int(
            "051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
            16,
        ),
    ),
}
_COORDINATE_BYTES = {"P-256": 32, "P-384": 48, "P-521": 66}
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----(.*?)-----END \1-----", re.S)
_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----")
_SEQUENCE, _INTEGER, _BIT_STRING, _OID = 0x30, 0x02, 0x03, 0x06


def _element(data: bytes, at: int) -> tuple[int, bytes, int]:
    """The DER element at ``at``: its tag, its content and where the next one starts."""
    if at + 2 > len(data):
        raise ValueError("truncated")
    tag, size, at = data[at], data[at + 1], at + 2
    if size & 0x80:
        count = size & 0x7F
        if not 0 < count <= 4 or at + count > len(data) or data[at] == 0:
            raise ValueError("bad length")
        size, at = int.from_bytes(data[at : at + count], "big"), at + count
        if size < 0x80:
            raise ValueError("bad length")  # DER writes a short length in one byte
    if at + size > len(data):
        raise ValueError("truncated")
    return tag, data[at : at + size], at + size


def _elements(data: bytes, tags: tuple[int, ...]) -> list[bytes]:
    """The contents of the elements ``data`` holds, which must be exactly of ``tags``."""
    found: list[bytes] = []
    at = 0
    while at < len(data):
        tag, content, at = _element(data, at)
        found.append(content)
        if len(found) > len(tags) or tag != tags[len(found) - 1]:
            raise ValueError("unexpected element")
    if len(found) != len(tags):
        raise ValueError("missing element")
    return found


def _whole(data: bytes, tag: int) -> bytes:
    found, content, end = _element(data, 0)
    if found != tag or end != len(data):
        raise ValueError("unexpected element")
    return content


def _positive(content: bytes) -> int:
    if not content or content[0] & 0x80 or (len(content) > 1 and content[0] == 0 and not content[1] & 0x80):
        raise ValueError("not a positive, minimally encoded integer")
    return int.from_bytes(content, "big")


def _oid(content: bytes) -> str:
    if not content or content[-1] & 0x80:
        raise ValueError("bad object identifier")
    parts: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = min(parts[0] // 40, 2)
    return ".".join(str(part) for part in (first, parts[0] - 40 * first, *parts[1:]))


def _rsa_members(der: bytes) -> dict[str, Any]:
    n, e = (_positive(part) for part in _elements(_whole(der, _SEQUENCE), (_INTEGER, _INTEGER)))
    return {"kty": "RSA", "n": n, "e": e}


def _spki_members(der: bytes) -> dict[str, Any]:
    algorithm, bits = _elements(_whole(der, _SEQUENCE), (_SEQUENCE, _BIT_STRING))
    if not bits or bits[0] != 0:
        raise ValueError("a key is a whole number of bytes")
    key = bits[1:]
    tag, oid, at = _element(algorithm, 0)
    if tag != _OID:
        raise ValueError("no algorithm identifier")
    kind = _oid(oid)
    params = algorithm[at:]
    if kind == _RSA_ENCRYPTION:
        if params not in (b"", b"\x05\x00"):
            raise ValueError("unexpected RSA parameters")
        return _rsa_members(key)
    if kind == _EC_PUBLIC_KEY:
        curve = _CURVE_OF_OID.get(_oid(_whole(params, _OID)))
        if curve is None:
            raise ValueError("an EC key on a curve JOSE has no algorithm for")
        size = _COORDINATE_BYTES[curve]
        if len(key) != 1 + 2 * size or key[0] != 4:
            raise ValueError("an EC point must be uncompressed (0x04, x, y)")
        return {"kty": "EC", "crv": curve, "x": key[1 : 1 + size], "y": key[1 + size :]}
    if kind in _OKP_OF_OID and not params:
        return {"kty": "OKP", "crv": _OKP_OF_OID[kind], "x": key}
    raise ValueError(f"a key of type {kind}, which JOSE does not sign with")


def _from_pem(pem: str | bytes) -> dict[str, Any]:
    text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
    blocks = _PEM.findall(text)
    labels = " ".join(_BEGIN.findall(text))  # an unterminated block still says what it is
    if "PRIVATE" in labels:
        raise ConfigurationError(
            "this PEM holds a private key: configure its public key (`openssl pkey -in key.pem -pubout`)"
        )
    if "CERTIFICATE" in labels:
        raise ConfigurationError(
            "this PEM is a certificate: configure its public key, e.g. `openssl x509 -in cert.pem -pubkey -noout`"
        )
    if len(blocks) != 1 or blocks[0][0] not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
        raise ConfigurationError("a public key is one PEM block, BEGIN PUBLIC KEY (or BEGIN RSA PUBLIC KEY)")
    label, body = blocks[0]
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
        return _spki_members(der) if label == "PUBLIC KEY" else _rsa_members(der)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"this PEM is not a public key JOSE can use: {exc}") from None


def _from_jwk(jwk: Mapping[str, Any], kty: str) -> dict[str, Any]:
    members: dict[str, Any] = {"kty": kty}
    for name in PUBLIC_MEMBERS[kty]:
        value = jwk.get(name)
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"a {kty} JWK needs {', '.join(PUBLIC_MEMBERS[kty])} as strings")
        if name == "crv":
            members[name] = value
            continue
        try:
            raw = b64url_decode(value)
        except ValueError:
            raise ConfigurationError(f"the JWK's {name!r} is not base64url") from None
        members[name] = int.from_bytes(raw, "big") if kty == "RSA" else raw
    return members


def _checked(members: dict[str, Any], kty: str, alg: str) -> dict[str, str]:
    """The members as JWK strings, once they are known to make a public key ``alg`` can verify with."""
    if members["kty"] != kty:
        raise ConfigurationError(f"this is an {members['kty']} key; {alg} needs an {kty} key")
    if kty == "RSA":
        n, e = members["n"], members["e"]
        if n.bit_length() < MIN_RSA_BITS:
            raise ConfigurationError(f"an RSA key needs at least {MIN_RSA_BITS} bits, not {n.bit_length()}")
        if n % 2 == 0 or e < 3 or e % 2 == 0:
            raise ConfigurationError("this is not an RSA public key (n and e must be odd, e at least 3)")
        return {"kty": kty, "n": _unsigned(n), "e": _unsigned(e)}
    curve = members["crv"]
    if ALG_OF_CURVE.get(curve) != alg or (kty == "OKP") != (curve in _OKP_SIZES):
        raise ConfigurationError(f"{alg} cannot use a key on curve {curve!r}")
    if kty == "OKP":
        if len(members["x"]) != _OKP_SIZES[curve]:
            raise ConfigurationError(f"an {curve} public key is {_OKP_SIZES[curve]} bytes")
        return {"kty": kty, "crv": curve, "x": b64url_encode(members["x"])}
    size = _COORDINATE_BYTES[curve]
    if len(members["x"]) != size or len(members["y"]) != size:
        raise ConfigurationError(f"{curve} coordinates are {size} bytes each")
    p, b = _NIST[curve]
    x, y = int.from_bytes(members["x"], "big"), int.from_bytes(members["y"], "big")
    if not (x < p and y < p and (y * y - (x * x * x - 3 * x + b)) % p == 0):
        raise ConfigurationError(f"this point is not on {curve}")
    return {"kty": kty, "crv": curve, "x": b64url_encode(members["x"]), "y": b64url_encode(members["y"])}


def _unsigned(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def public_members(key: str | bytes | Mapping[str, Any], kty: str, alg: str) -> dict[str, str]:
    """The public JWK members (``kty`` and the key's own) of a PEM or JWK ``key`` that verifies ``alg``.

    Example:
        >>> jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        >>> public_members(jwk, "OKP", "EdDSA") == jwk
        True
        >>> try:
        ...     public_members("-----BEGIN PRIVATE KEY-----...", "RSA", "RS256")
        ... except ConfigurationError as refused:
        ...     print(refused)
        this PEM holds a private key: configure its public key (`openssl pkey -in key.pem -pubout`)
    """
    if kty not in PUBLIC_MEMBERS:
        raise ConfigurationError(f"{alg} keys are not published (a shared secret never is)")
    members = _from_jwk(key, kty) if isinstance(key, Mapping) else _from_pem(key)
    return _checked(members, kty, alg)


__all__ = ["ALG_OF_CURVE", "MIN_RSA_BITS", "PUBLIC_MEMBERS", "public_members"]
