"""Keys are bound to one algorithm at configuration; anything a token could abuse is refused up front."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given
from hypothesis import strategies as st

from backendkit.auth import HMACKey, JWTVerifier, PrivateKey, PublicKey, issue
from backendkit.auth.backends.jose import JoseBackend
from backendkit.auth.backends.pyjwt import PyJWTBackend
from backendkit.errors import ConfigurationError
from tests.auth.keys import SECRET, ec_pair, ec_point, rsa_pair

BACKENDS = [JoseBackend(), PyJWTBackend()]


def _public_like() -> dict[str, bytes]:
    pem = rsa_pair().public_pem.encode()
    der = rsa_pair().public_der
    return {
        "PEM": pem,
        "PEM with leading text": b"key:\n" + pem,
        "DER (SPKI)": der,
        "DER (PKCS#1)": rsa_pair()
        .private.public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
        "base64 DER": base64.b64encode(der),
        "JWK text": json.dumps(rsa_pair().public_jwk).encode(),
        "raw EC point": ec_point(),
        "compressed EC point": ec_pair()
        .private.public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint),
        "SSH key": ec_pair()
        .private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        # As secrets come from env and mounted files: with a newline, a NUL, or encoded.
        "DER and a newline": der + b"\n",
        "a newline and DER": b"\n" + der,
        "DER and a NUL": der + b"\0",
        "raw EC point and a newline": ec_point() + b"\n",
        "base64url DER": base64.urlsafe_b64encode(der).rstrip(b"="),
        "hex DER": der.hex().encode(),
        "hex EC point": ec_point().hex().encode(),
    }


@pytest.mark.parametrize("name", sorted(_public_like()))
def test_an_hmac_secret_that_looks_like_a_public_key_is_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match="looks like"):
        HMACKey(_public_like()[name])


@pytest.mark.parametrize("last", [b"\n", b"\r", b" ", b"\t", b"\0"])
@pytest.mark.parametrize("padding", [b"\n", b"\r\n", b" \n\0"])
def test_a_key_whose_last_byte_looks_like_padding_is_still_refused(last: bytes, padding: bytes) -> None:
    # An EC point's last coordinate byte is 0x0a about once in 256 keys: stripping every
    # newline from the end cut into the point, and "raw EC point and a newline" passed.
    point = ec_point()[:-1] + last
    with pytest.raises(ConfigurationError, match="looks like"):
        HMACKey(point + padding)
    with pytest.raises(ConfigurationError, match="looks like"):
        HMACKey(padding + point)


@given(st.binary(min_size=32, max_size=43))
def test_random_secrets_of_up_to_43_bytes_are_accepted_in_any_encoding(raw: bytes) -> None:
    # Shorter than the smallest public key in DER: raw, base64 or hex, never taken for one.
    # (Longer random secrets are refused only when they parse exactly as a DER sequence or an
    # EC point, which is a chance of 1 in 65,536 or less.)
    for secret in (raw, base64.b64encode(raw), raw.hex().encode()):
        if len(secret) >= 32 and not raw.startswith((b"\x02", b"\x03", b"\x04")):
            assert HMACKey(secret).alg == "HS256"


@pytest.mark.parametrize("secret", [b"", b"x", "31-bytes-is-one-too-few-for-us!"])
def test_a_short_hmac_secret_is_refused(secret: bytes | str) -> None:
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        HMACKey(secret)


def test_a_key_is_bound_to_an_algorithm_of_its_family() -> None:
    with pytest.raises(ConfigurationError):
        HMACKey(SECRET, alg="RS256")
    with pytest.raises(ConfigurationError):
        PublicKey(rsa_pair().public_pem, alg="HS256")
    with pytest.raises(ConfigurationError):
        PublicKey(rsa_pair().public_pem, alg="none")
    with pytest.raises(ConfigurationError, match="kty"):
        PublicKey(rsa_pair().public_jwk, alg="ES256")
    with pytest.raises(ConfigurationError, match="alg"):
        PublicKey({**rsa_pair().public_jwk, "alg": "RS512"}, alg="RS256")
    with pytest.raises(ConfigurationError, match="private"):
        PublicKey({**ec_pair().public_jwk, "d": "AAAA"}, alg="ES256")


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_the_backend_checks_the_key_itself(backend: object) -> None:
    # python-jose would wrap an EC key in its RSA class; the family check refuses it on both backends.
    with pytest.raises(ConfigurationError, match=r"RSA|RS256"):
        JWTVerifier([PublicKey(ec_pair().public_pem, alg="RS256")], backend=backend)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="secp384r1"):
        JWTVerifier([PublicKey(ec_pair().public_pem, alg="ES384")], backend=backend)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="2048 bits"):
        JWTVerifier([PublicKey(rsa_pair(1024).public_pem, alg="RS256")], backend=backend)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="public key"):
        JWTVerifier([PublicKey(rsa_pair().private_pem, alg="RS256")], backend=backend)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        JWTVerifier([PublicKey("not a key", alg="RS256")], backend=backend)  # type: ignore[arg-type]


def test_two_keys_with_one_kid_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="kid"):
        JWTVerifier([HMACKey(SECRET, kid="a"), PublicKey(rsa_pair().public_pem, kid="a")])


def test_a_verifier_needs_keys() -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier([])


def test_python_jose_refuses_what_it_cannot_do_and_pyjwt_does_it() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ConfigurationError, match="pyjwt"):
        JWTVerifier([PublicKey(public, alg="EdDSA")], backend=JoseBackend())
    pyjwt = PyJWTBackend()
    token = issue(PrivateKey(pem, alg="EdDSA"), "u1", backend=pyjwt)
    assert JWTVerifier([PublicKey(public, alg="EdDSA")], backend=pyjwt).verify(token).subject == "u1"
    token = issue(PrivateKey(rsa_pair().private_pem, alg="PS256"), "u1", backend=pyjwt)
    assert JWTVerifier([PublicKey(rsa_pair().public_pem, alg="PS256")], backend=pyjwt).verify(token).subject == "u1"


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"])
def test_issue_and_verify_round_trip(backend: object, alg: str) -> None:
    if alg.startswith("HS"):
        signing: HMACKey | PrivateKey = HMACKey(SECRET, alg=alg)
        verifying: HMACKey | PublicKey = HMACKey(SECRET, alg=alg)
    elif alg.startswith("RS"):
        signing, verifying = PrivateKey(rsa_pair().private_pem, alg=alg), PublicKey(rsa_pair().public_pem, alg=alg)
    else:
        curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
        private = ec.generate_private_key(curve)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = (
            private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        signing, verifying = PrivateKey(pem, alg=alg), PublicKey(public, alg=alg)
    token = issue(signing, "u1", issuer="i", audience=["a", "b"], claims={"roles": ["r"]}, backend=backend)  # type: ignore[arg-type]
    principal = JWTVerifier([verifying], issuer="i", audience="b", backend=backend).verify(token)  # type: ignore[arg-type]
    assert principal.subject == "u1"
    assert principal.roles == {"r"}
    assert set(principal.claims) == {"sub", "iat", "exp", "jti", "iss", "aud", "roles"}


def test_issue_refuses_to_override_its_own_claims() -> None:
    with pytest.raises(ValueError, match="exp"):
        issue(HMACKey(SECRET), "u1", claims={"exp": 1})
    with pytest.raises(ConfigurationError):
        issue(PublicKey(rsa_pair().public_pem), "u1")  # type: ignore[arg-type]
