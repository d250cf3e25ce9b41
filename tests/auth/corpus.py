"""The attack corpus: (name, token, expected reason) rows, run against the core, both backends, and over HTTP.

Every row holds against the configuration of :func:`tests.auth.keys.verifying_keys`
(an HS256 secret, RS256 key ``rsa-1``, ES256 key ``ec-1``) at ``NOW``, with the
issuer and audience of :mod:`tests.auth.keys`. Ideas follow RFC 8725 and the
public attack catalogues; every token here is built by this file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.auth.keys import (
    EC_KID,
    NOW,
    RSA_KID,
    b64,
    b64json,
    claims,
    ec_pair,
    ec_point,
    forge,
    rsa_pair,
    token,
)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], str]
    reason: str | None  # None: the token is accepted


def _none(alg: str, signature: str) -> str:
    return f"{b64json({'alg': alg, 'typ': 'JWT'})}.{b64json(claims())}.{signature}"


def _hs_with(material: bytes, kid: str | None = None) -> str:
    header = {"alg": "HS256", "typ": "JWT"} | ({"kid": kid} if kid else {})
    return forge(header, claims(), key=material)


def _attacker_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _with_header(**extra: object) -> str:
    return forge({"alg": "HS256", "typ": "JWT", **extra}, claims())


def _embedded_key(name: str) -> str:
    attacker = _attacker_rsa()
    numbers = attacker.public_key().public_numbers()
    jwk = {"kty": "RSA", "n": b64(numbers.n.to_bytes(256, "big")), "e": "AQAB", "kid": RSA_KID}
    value: object = {
        "jwk": jwk,
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBattacker"],
    }[name]
    return forge({"alg": "RS256", "kid": RSA_KID, name: value}, claims(), key=attacker)


def _es_signature(signature: bytes) -> str:
    head, body = b64json({"alg": "ES256", "kid": EC_KID}), b64json(claims())
    return f"{head}.{body}.{b64(signature)}"


def _es_der() -> str:
    head, body = b64json({"alg": "ES256", "kid": EC_KID}), b64json(claims())
    der = ec_pair().private.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    decode_dss_signature(der)  # it is a real DER signature of the right key
    return f"{head}.{body}.{b64(der)}"


def _raw(text: str, header: dict[str, object] | None = None) -> str:
    head = b64json(header or {"alg": "HS256", "typ": "JWT"})
    return forge(head, b64(text.encode()), alg="HS256", raw=True)


def _nested(depth: int) -> str:
    value = json.dumps(claims())[:-1] + ',"deep":' + "[" * depth + "]" * depth + "}"
    return _raw(value)


def _oversized() -> str:
    return token(padding="x" * 9000)


_EXP = f'"exp": {int(NOW) + 600}'
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _spare_bits() -> str:
    # A 32-byte HMAC is 43 characters: the last one carries 4 bits and 2 spare ones, set here.
    tok = token()
    last = _ALPHABET.index(tok[-1])
    return tok[:-1] + _ALPHABET[last | 1]


def _tamper_last(tok: str) -> str:
    head, body, sig = tok.split(".")
    return f"{head}.{body}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"


def _swap_payload(tok: str) -> str:
    head, _, sig = tok.split(".")
    return f"{head}.{b64json(claims(sub='admin'))}.{sig}"


CASES: list[Case] = [
    # Accepted: one per key.
    Case("valid HS256", lambda: token("HS256"), None),
    Case("valid RS256", lambda: token("RS256"), None),
    Case("valid ES256", lambda: token("ES256"), None),
    Case("aud as a list naming us", lambda: token(aud=["other", "tasks-api"]), None),
    # alg none, in any case, with or without a signature.
    *[
        Case(f"alg {alg} with empty signature", lambda a=alg: _none(a, ""), "malformed")
        for alg in ("none", "None", "NONE", "nOnE")
    ],
    *[
        Case(f"alg {alg} with a signature", lambda a=alg: _none(a, b64(b"x" * 32)), "unsupported_alg")
        for alg in ("none", "None", "NONE", "nOnE")
    ],
    # HS/RS and HS/EC confusion: an HMAC keyed with the public key in every spelling.
    Case("HS256 keyed with the RSA public PEM", lambda: _hs_with(rsa_pair().public_pem.encode()), "bad_signature"),
    Case("HS256 keyed with the RSA public DER", lambda: _hs_with(rsa_pair().public_der), "bad_signature"),
    Case(
        "HS256 keyed with the RSA JWK text",
        lambda: _hs_with(json.dumps(rsa_pair().public_jwk).encode()),
        "bad_signature",
    ),
    Case("HS256 keyed with the raw EC point", lambda: _hs_with(ec_point()), "bad_signature"),
    Case(
        "HS256 by the RSA kid, keyed with its PEM",
        lambda: _hs_with(rsa_pair().public_pem.encode(), RSA_KID),
        "alg_mismatch",
    ),
    Case("HS256 by the EC kid, keyed with its point", lambda: _hs_with(ec_point(), EC_KID), "alg_mismatch"),
    Case("RS512 header on the RS256 key", lambda: forge({"alg": "RS512", "kid": RSA_KID}, claims()), "alg_mismatch"),
    Case("ES256 header on the RS256 kid", lambda: forge({"alg": "ES256", "kid": RSA_KID}, claims()), "alg_mismatch"),
    Case("RS256 with no kid", lambda: forge({"alg": "RS256"}, claims()), "unknown_kid"),
    Case("PS256: no key is bound to it", lambda: forge({"alg": "PS256"}, claims(), alg="RS256"), "unsupported_alg"),
    Case("HS384: no key is bound to it", lambda: forge({"alg": "HS384"}, claims()), "unsupported_alg"),
    # kid: opaque, exact, capped.
    Case(
        "kid path traversal",
        lambda: forge({"alg": "HS256", "kid": "../../../../dev/null"}, claims(), key=b""),
        "unknown_kid",
    ),
    Case(
        "kid SQL injection",
        lambda: forge({"alg": "HS256", "kid": "x' UNION SELECT 'secret' --"}, claims()),
        "unknown_kid",
    ),
    Case("kid differing by case", lambda: forge({"alg": "RS256", "kid": "RSA-1"}, claims()), "unknown_kid"),
    Case("kid of 300 characters", lambda: forge({"alg": "HS256", "kid": "k" * 300}, claims()), "unknown_kid"),
    Case("kid as a number", lambda: forge({"alg": "HS256", "kid": 1}, claims()), "malformed"),
    Case("kid null", lambda: forge({"alg": "HS256", "kid": None}, claims()), "malformed"),
    Case("typ null", lambda: forge({"alg": "HS256", "typ": None}, claims()), "malformed"),
    # Keys offered by the token are never used.
    *[
        Case(f"{name} header with the attacker's key", lambda n=name: _embedded_key(n), "bad_signature")
        for name in ("jwk", "jku", "x5u", "x5c")
    ],
    # Extensions a plain JWS verifier must not skip.
    Case("unknown crit", lambda: _with_header(crit=["exp"], exp=1), "unsupported_header"),
    Case("b64 false", lambda: _with_header(b64=False, crit=["b64"]), "unsupported_header"),
    Case("b64 false without crit", lambda: _with_header(b64=False), "unsupported_header"),
    Case("zip header", lambda: _with_header(zip="DEF"), "unsupported_header"),
    # Signatures.
    Case("tampered HS256 signature", lambda: _tamper_last(token("HS256")), "bad_signature"),
    Case("payload swapped under an RS256 signature", lambda: _swap_payload(token("RS256")), "bad_signature"),
    Case(
        "RS256 signed by another key",
        lambda: forge({"alg": "RS256", "kid": RSA_KID}, claims(), key=_attacker_rsa()),
        "bad_signature",
    ),
    Case("ES256 r = s = 0", lambda: _es_signature(bytes(64)), "bad_signature"),
    Case(
        "ES256 r = s = n",
        lambda: _es_signature(bytes.fromhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551") * 2),
        "bad_signature",
    ),
    Case("ES256 DER signature", _es_der, "bad_signature"),
    Case("ES256 short signature", lambda: _es_signature(b"\x01" * 63), "bad_signature"),
    # exp, nbf, iat: presence, types, times.
    Case("no exp", lambda: token(exp=...), "missing_claim"),
    Case("exp expired", lambda: token(exp=int(NOW) - 60), "expired"),
    Case("exp as a string", lambda: token(exp=str(int(NOW) + 600)), "bad_claim"),
    Case("exp as true", lambda: token(exp=True), "bad_claim"),
    Case("exp as null", lambda: token(exp=None), "bad_claim"),
    Case("exp as a list", lambda: token(exp=[int(NOW) + 600]), "bad_claim"),
    Case("exp of 1e400 (infinite)", lambda: _raw(json.dumps(claims()).replace(_EXP, '"exp": 1e400')), "bad_claim"),
    Case("exp NaN", lambda: _raw(json.dumps(claims()).replace(_EXP, '"exp": NaN')), "malformed"),
    Case(
        "exp a 400-digit integer", lambda: _raw(json.dumps(claims()).replace(_EXP, '"exp": 1' + "0" * 400)), "bad_claim"
    ),
    Case("exp a huge negative integer", lambda: token(exp=-(10**400)), "bad_claim"),
    Case("exp beyond the year 9999", lambda: token(exp=253_402_300_800), "bad_claim"),
    Case("exp of 1e300", lambda: _raw(json.dumps(claims()).replace(_EXP, '"exp": 1e300')), "bad_claim"),
    Case("nbf in the future", lambda: token(nbf=int(NOW) + 600), "not_yet_valid"),
    Case("nbf as a string", lambda: token(nbf="0"), "bad_claim"),
    Case("iat in the future", lambda: token(iat=int(NOW) + 600), "issued_in_future"),
    Case("iat as an object", lambda: token(iat={"t": 1}), "bad_claim"),
    # aud, iss, sub.
    Case("no aud", lambda: token(aud=...), "missing_claim"),
    Case("wrong aud", lambda: token(aud="other-api"), "wrong_audience"),
    Case("aud list without us", lambda: token(aud=["a", "b"]), "wrong_audience"),
    Case("aud list with a number", lambda: token(aud=["tasks-api", 1]), "bad_claim"),
    Case("aud empty list", lambda: token(aud=[]), "bad_claim"),
    Case("no iss", lambda: token(iss=...), "missing_claim"),
    Case("wrong iss", lambda: token(iss="https://evil.example/"), "wrong_issuer"),
    Case("iss as a list", lambda: token(iss=["https://auth.example.test/"]), "bad_claim"),
    Case("no sub", lambda: token(sub=...), "missing_claim"),
    Case("sub null", lambda: token(sub=None), "missing_claim"),
    Case("sub a lone surrogate", lambda: _raw(json.dumps(claims()).replace('"user-1"', '"\\ud800"')), "malformed"),
    Case("jti null", lambda: token(jti=None), "bad_claim"),
    Case("jti a number", lambda: token(jti=7), "bad_claim"),
    Case("sub as a number", lambda: token(sub=42), "bad_claim"),
    Case("roles as a string list with a number", lambda: token(roles=["viewer", 1]), "bad_claim"),
    # JSON: duplicates, nesting, non-objects.
    Case("duplicate sub in the payload", lambda: _raw(json.dumps(claims())[:-1] + ', "sub": "admin"}'), "malformed"),
    Case(
        "duplicate alg in the header",
        lambda: forge(b64(b'{"alg":"none","alg":"HS256"}'), b64json(claims()), alg="HS256", raw=True),
        "malformed",
    ),
    Case("nesting 40 deep", lambda: _nested(40), "malformed"),
    Case("nesting 2800 deep", lambda: _nested(2800), "malformed"),
    Case("payload a JSON array", lambda: _raw("[1, 2]"), "malformed"),
    Case("payload a JSON string", lambda: _raw('"sub"'), "malformed"),
    Case(
        "payload not UTF-8",
        lambda: forge(b64json({"alg": "HS256"}), b64(b'{"sub":"\xff"}'), alg="HS256", raw=True),
        "malformed",
    ),
    Case("header an array", lambda: forge(b64(b'["HS256"]'), b64json(claims()), alg="HS256", raw=True), "malformed"),
    Case("oversized token", _oversized, "too_large"),
    # Not a compact JWS.
    Case(
        "JWE compact (five parts)",
        lambda: ".".join([b64json({"alg": "dir", "enc": "A128GCM"}), "", b64(b"iv"), b64(b"ct"), b64(b"tag")]),
        "malformed",
    ),
    Case(
        "JWE-shaped header in three parts",
        lambda: forge({"alg": "HS256", "enc": "A128GCM"}, claims()),
        "unsupported_header",
    ),
    Case("JSON serialization", lambda: json.dumps({"payload": b64json(claims()), "signatures": []}), "malformed"),
    Case("two parts", lambda: ".".join(token().split(".")[:2]), "malformed"),
    Case("padding in a part", lambda: token().replace(".", "=.", 1), "malformed"),
    Case("standard base64 alphabet", lambda: token().replace("-", "+").replace("_", "/") + "+/", "malformed"),
    Case("non-canonical base64 (spare bits set)", _spare_bits, "malformed"),
    Case("whitespace inside", lambda: token().replace(".", ". ", 1), "malformed"),
    Case("empty string", lambda: "", "malformed"),
]
