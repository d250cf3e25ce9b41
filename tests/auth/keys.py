"""Key material for the auth tests, made once per process, and a forge that signs any header and payload."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from backendkit.auth import HMACKey, PrivateKey, PublicKey

SECRET = "tests-only-hs256-secret-of-at-least-32-bytes"
ISSUER = "https://auth.example.test/"
AUDIENCE = "tasks-api"
NOW = 1_800_000_000.0
RSA_KID = "rsa-1"
EC_KID = "ec-1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Pair:
    private: Any
    private_pem: str
    public_pem: str
    public_der: bytes
    public_jwk: dict[str, Any]


def _pem(private: Any) -> tuple[str, str, bytes]:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = private.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    public_der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem, public_der


@functools.cache
def rsa_pair(bits: int = 2048) -> Pair:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    numbers = private.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "n": b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64(numbers.e.to_bytes(3, "big")),
    }
    return Pair(private, *_pem(private), jwk)


@functools.cache
def ec_pair() -> Pair:
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    return Pair(private, *_pem(private), jwk)


def ec_point() -> bytes:
    return (
        ec_pair()
        .private.public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


def verifying_keys() -> list[HMACKey | PublicKey]:
    """The configuration the corpus runs against: an HS256 secret, an RS256 and an ES256 key by kid."""
    return [
        HMACKey(SECRET),
        PublicKey(rsa_pair().public_pem, alg="RS256", kid=RSA_KID),
        PublicKey(ec_pair().public_pem, alg="ES256", kid=EC_KID),
    ]


def signing_key(alg: str) -> HMACKey | PrivateKey:
    if alg == "HS256":
        return HMACKey(SECRET)
    if alg == "RS256":
        return PrivateKey(rsa_pair().private_pem, alg="RS256", kid=RSA_KID)
    return PrivateKey(ec_pair().private_pem, alg="ES256", kid=EC_KID)


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims at NOW, with ``overrides`` (a value of ``...`` removes the claim)."""
    base: dict[str, Any] = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 600,
        "jti": "jti-1",
        "roles": ["viewer"],
        "scope": "tasks:read",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not ...}


def sign(alg: str, signing_input: bytes, key: Any = None) -> bytes:
    """A signature over ``signing_input``: HS with ``key`` (bytes) or SECRET, RS/ES with ``key`` or ours."""
    if alg.startswith("HS"):
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        secret = key if key is not None else SECRET.encode()
        return hmac.new(secret, signing_input, digest).digest()
    hash_alg = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[alg[2:]]
    if alg.startswith("RS"):
        private = key if key is not None else rsa_pair().private
        return bytes(private.sign(signing_input, padding.PKCS1v15(), hash_alg))
    private = key if key is not None else ec_pair().private
    r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hash_alg)))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def forge(header: Any, payload: Any, *, alg: str | None = None, key: Any = None, raw: bool = False) -> str:
    """A compact JWS of ``header`` and ``payload`` (JSON values, or already-encoded text when ``raw``)."""
    head = header if raw else b64json(header)
    body = payload if raw else b64json(payload)
    signing_input = f"{head}.{body}".encode()
    algorithm = alg if alg is not None else header["alg"]
    return f"{head}.{body}.{b64(sign(algorithm, signing_input, key))}"


def token(alg: str = "HS256", **overrides: Any) -> str:
    """A valid token of ``alg`` (by kid for RS/ES) with the claims overridden."""
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if alg == "RS256":
        header["kid"] = RSA_KID
    elif alg == "ES256":
        header["kid"] = EC_KID
    return forge(header, claims(**overrides))
