"""Publishing a service's own keys (issue 19 §3): ``PublicKey.to_jwk()``, ``JWKSDocument`` and the routes.

A service that signs tokens with ``TokenIssuer`` serves its public keys as a JWK
Set; the library's own ``JWKSClient``, python-jose and PyJWT fetch it over a real
socket and verify the service's tokens with it, on every framework.
"""

from __future__ import annotations

import base64
import functools
import json
import types
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from jose import jwt as jose_jwt

from backendkit.auth import (
    JWKS_MEDIA_TYPE,
    JWKS_PATH,
    HMACKey,
    JWKSClient,
    JWKSDocument,
    JWTVerifier,
    PrivateKey,
    PublicKey,
    TokenIssuer,
)
from backendkit.auth._core.jwkset import parse_jwks
from backendkit.auth.backends.jose import JoseBackend
from backendkit.auth.backends.pyjwt import PyJWTBackend
from backendkit.errors import ConfigurationError
from tests.conformance.targets import comparable
from tests.support.net import Reply, request
from tests.support.security import API_HEADERS
from tests.support.servers import uvicorn_server, waitress_server

AUDIENCE = "published-api"
ISSUER = "https://issuer.example.test/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _pem(key: Any, *, private: bool = False, pkcs1: bool = False) -> str:
    if private:
        return str(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
        )
    fmt = serialization.PublicFormat.PKCS1 if pkcs1 else serialization.PublicFormat.SubjectPublicKeyInfo
    return str(key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode())


def _expected_jwk(private: Any) -> dict[str, str]:
    """The public members, written from the key's numbers by cryptography: what to_jwk must give."""
    public = private.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {
            "kty": "RSA",
            "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        }
    if isinstance(public, ec.EllipticCurvePublicKey):
        size = (public.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[public.curve.name]
        numbers = public.public_numbers()
        return {
            "kty": "EC",
            "crv": crv,
            "x": _b64(numbers.x.to_bytes(size, "big")),
            "y": _b64(numbers.y.to_bytes(size, "big")),
        }
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519" if len(raw) == 32 else "Ed448", "x": _b64(raw)}


@functools.cache
def _private(kind: str) -> Any:
    makers: dict[str, Any] = {
        "rsa2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa3072-e3": lambda: rsa.generate_private_key(public_exponent=3, key_size=3072),
        "rsa4096": lambda: rsa.generate_private_key(public_exponent=65537, key_size=4096),
        "rsa1024": lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
        "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
        "secp256k1": lambda: ec.generate_private_key(ec.SECP256K1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "ed448": ed448.Ed448PrivateKey.generate,
    }
    return makers[kind]()


KEYS = [
    ("rsa2048", "RS256"),
    ("rsa3072-e3", "PS384"),
    ("rsa4096", "RS512"),
    ("p256", "ES256"),
    ("p384", "ES384"),
    ("p521", "ES512"),
    ("ed25519", "EdDSA"),
    ("ed448", "EdDSA"),
]


@pytest.mark.parametrize(("kind", "alg"), KEYS)
def test_a_pem_public_key_is_written_as_the_jwk_of_its_numbers(kind: str, alg: str) -> None:
    private = _private(kind)
    jwk = PublicKey(_pem(private), alg=alg, kid=f"{kind}-1").to_jwk()
    assert jwk == {**_expected_jwk(private), "alg": alg, "use": "sig", "kid": f"{kind}-1"}
    assert PublicKey(jwk, alg=alg, kid=f"{kind}-1").to_jwk() == jwk  # a JWK comes out as it went in
    read = parse_jwks(json.dumps({"keys": [jwk]}).encode(), PyJWTBackend().verifier)  # as the client reads it
    assert (list(read.keys), read.keys[f"{kind}-1"].alg, read.warnings) == ([f"{kind}-1"], alg, ())


def test_pkcs1_rsa_public_keys_and_non_canonical_jwks_come_out_canonical() -> None:
    private = _private("rsa2048")
    expected = {**_expected_jwk(private), "alg": "RS256", "use": "sig"}
    assert PublicKey(_pem(private, pkcs1=True)).to_jwk() == expected  # no kid: none written
    numbers = private.public_key().public_numbers()
    padded = {"kty": "RSA", "n": _b64(b"\0" + numbers.n.to_bytes(256, "big")), "e": _b64(b"\0\1\0\1")}
    assert PublicKey(padded).to_jwk() == expected
    extra = {**expected, "kid": "x", "p": "AQAB", "x5c": ["..."], "ext": True}  # only public members come out
    assert PublicKey(extra, alg="RS256").to_jwk() == expected


def _refused(key: Any, alg: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        PublicKey(key, alg=alg, kid="k").to_jwk()


def test_private_keys_certificates_and_keys_unfit_for_their_alg_are_refused() -> None:
    rsa_key, p256 = _private("rsa2048"), _private("p256")
    _refused(_pem(rsa_key, private=True), "RS256", "private key")
    traditional = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    _refused(traditional, "RS256", "private key")  # BEGIN RSA PRIVATE KEY, as bytes
    encrypted = p256.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()
    _refused(encrypted, "ES256", "private key")
    _refused(_certificate(p256), "ES256", "certificate")
    _refused(_pem(_private("rsa1024")), "RS256", "2048 bits")
    _refused(_pem(rsa_key), "ES256", "needs an EC key")
    _refused(_pem(_private("p384")), "ES256", "curve 'P-384'")
    _refused(_pem(_private("ed25519")), "ES256", "needs an EC key")
    _refused(_pem(_private("secp256k1")), "ES256", "curve")
    _refused("not a key at all", "RS256", "one PEM block")
    _refused(_pem(rsa_key) + _pem(_private("rsa4096")), "RS256", "one PEM block")
    off_curve = {**_expected_jwk(p256), "y": _b64(b"\1" * 32)}
    _refused(off_curve, "ES256", "not on P-256")
    _refused({**_expected_jwk(p256), "x": _b64(b"\1" * 31)}, "ES256", "32 bytes")
    _refused({**_expected_jwk(rsa_key), "e": "AQAB="}, "RS256", "base64url")
    _refused({**_expected_jwk(_private("ed25519")), "crv": "Ed448"}, "EdDSA", "57 bytes")


def _certificate(private: Any) -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example.test")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
    builder = builder.serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
    return builder.sign(private, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def _document(*keys: tuple[str, str]) -> JWKSDocument:
    return JWKSDocument([PublicKey(_pem(_private(kind)), alg=alg, kid=f"{kind}-1") for kind, alg in keys])


def test_a_document_is_its_keys_sorted_and_compact_with_its_headers() -> None:
    document = JWKSDocument(
        [PublicKey(_pem(_private("p256")), alg="ES256", kid="b"), PublicKey(_pem(_private("rsa2048")), kid="a")]
    )
    assert document.body == _document_bytes([document.keys[0], document.keys[1]])
    assert [jwk["kid"] for jwk in json.loads(document.body)["keys"]] == ["b", "a"]  # the order given
    assert document.headers == (("Content-Type", JWKS_MEDIA_TYPE), ("Cache-Control", "public, max-age=300"))
    again = JWKSDocument(
        [PublicKey(_pem(_private("p256")), alg="ES256", kid="b"), PublicKey(_pem(_private("rsa2048")), kid="a")]
    )
    assert again.body == document.body
    plain = JWKSDocument([PublicKey(_pem(_private("p256")), alg="ES256", kid="b")], media_type="application/json")
    assert dict(plain.headers)["Content-Type"] == "application/json"
    assert dict(_document(("p256", "ES256")).headers)["Cache-Control"] == "public, max-age=300"


def _document_bytes(keys: list[dict[str, str]]) -> bytes:
    return json.dumps({"keys": keys}, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("keys", "options", "match"),
    [
        ([HMACKey("a-32-byte-secret-for-this-example!", kid="h")], {}, "shared secret"),
        ([PrivateKey("-----BEGIN PRIVATE KEY-----", kid="p")], {}, "never the private key"),
        (["-----BEGIN PUBLIC KEY-----"], {}, "is a PublicKey"),
        ([PublicKey({"kty": "OKP", "crv": "Ed25519", "x": "x" * 43}, alg="EdDSA")], {}, "needs a kid"),
        ([], {}, "at least one key"),
        (["DUP", "DUP"], {}, "share kid"),
        (["OK"], {"max_age": -1}, "max_age"),
        (["OK"], {"max_age": 86401}, "max_age"),
        (["OK"], {"max_age": 1.5}, "max_age"),
        (["OK"], {"media_type": "text/plain"}, "media_type"),
    ],
)
def test_a_document_that_would_publish_the_wrong_thing_is_refused(
    keys: list[Any], options: dict[str, Any], match: str
) -> None:
    good = PublicKey(_pem(_private("ed25519")), alg="EdDSA", kid="same")
    listed = [good if key in ("DUP", "OK") else key for key in keys]
    with pytest.raises(ConfigurationError, match=match):
        JWKSDocument(listed, **options)


# Any input: a JWK or a ConfigurationError, never another exception, never a private member.


@functools.cache
def _ders() -> list[bytes]:
    found = []
    for kind, _ in KEYS:
        public = _private(kind).public_key()
        found.append(public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    return found


def _as_pem(der: bytes, label: str = "PUBLIC KEY") -> str:
    body = base64.b64encode(der).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def _check_any(key: Any, alg: str) -> None:
    try:
        jwk = PublicKey(key, alg=alg, kid="k").to_jwk()
    except ConfigurationError:
        return
    assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & jwk.keys()
    read = parse_jwks(json.dumps({"keys": [jwk]}).encode(), lambda key: lambda data, signature: False)
    assert read.keys["k"].alg == alg


@settings(max_examples=300, deadline=None)
@given(
    which=st.integers(0, len(KEYS) - 1),
    edits=st.lists(st.tuples(st.integers(0, 600), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.none() | st.integers(0, 600),
)
def test_any_corrupted_der_is_a_public_jwk_or_a_configuration_error(
    which: int, edits: list[tuple[int, int]], cut: int | None
) -> None:
    der = bytearray(_ders()[which])
    for at, value in edits:
        der[at % len(der)] = value
    _check_any(_as_pem(bytes(der[:cut] if cut is not None else der)), KEYS[which][1])


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=200) | st.binary(max_size=200).map(lambda raw: _as_pem(raw, "PUBLIC KEY")),
    alg=st.sampled_from(["RS256", "PS512", "ES256", "ES384", "ES512", "EdDSA"]),
)
def test_any_text_is_a_public_jwk_or_a_configuration_error(text: str, alg: str) -> None:
    _check_any(text, alg)


_B64 = st.binary(max_size=80).map(_b64) | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    members=st.fixed_dictionaries(
        {},
        optional={
            "n": _B64,
            "e": _B64 | st.sampled_from(["AQAB", "Aw", "AA"]),
            "crv": st.sampled_from(["P-256", "P-384", "P-521", "Ed25519", "Ed448", "X25519"]) | st.text(max_size=4),
            "x": _B64,
            "y": _B64,
            "d": _B64,
        },
    ),
    alg=st.sampled_from(["RS256", "ES256", "ES512", "EdDSA"]),
)
def test_any_jwk_is_written_back_canonical_or_refused(members: dict[str, str], alg: str) -> None:
    kty = {"RS": "RSA", "ES": "EC", "Ed": "OKP"}[alg[:2]]
    try:
        key = PublicKey({"kty": kty, **members}, alg=alg, kid="k")
    except ConfigurationError:  # private members are refused by PublicKey itself
        return
    _check_any(key.key, alg)


# Over HTTP: the same bytes on every framework, GET and HEAD, and the round trip.


@dataclass(frozen=True)
class Service:
    """A token issuer with its keys: what it signs with and what it publishes."""

    issuers: dict[str, TokenIssuer]
    document: JWKSDocument


@functools.cache
def _service() -> Service:
    signing = {"RS256": "rsa2048", "ES256": "p256", "PS384": "rsa3072-e3", "EdDSA": "ed25519"}
    issuers: dict[str, TokenIssuer] = {}
    published = []
    for alg, kind in signing.items():
        kid = f"service-{alg.lower()}"
        backend = JoseBackend() if alg in JoseBackend.algorithms else PyJWTBackend()
        private = PrivateKey(_pem(_private(kind), private=True), alg=alg, kid=kid)
        issuers[alg] = TokenIssuer(private, issuer=ISSUER, audience=AUDIENCE, backend=backend)
        published.append(PublicKey(_pem(_private(kind)), alg=alg, kid=kid))
    return Service(issuers, JWKSDocument(published, max_age=600))


def _fastapi_app(document: JWKSDocument) -> Any:
    from fastapi import FastAPI

    from backendkit.fastapi import install
    from backendkit.fastapi.auth import jwks_routes

    app = FastAPI()
    install(app)
    jwks_routes(document, app=app)
    return app


def _starlette_app(document: JWKSDocument) -> Any:
    from starlette.applications import Starlette

    from backendkit.starlette import install
    from backendkit.starlette.auth import jwks_routes

    app = Starlette(routes=jwks_routes(document))
    install(app)
    return app


def _flask_app(document: JWKSDocument) -> Any:
    from flask import Flask

    from backendkit.flask import BackendKit
    from backendkit.flask.auth import jwks_routes

    app = Flask(__name__)
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False  # as the examples: FastAPI does not answer OPTIONS
    BackendKit(app)
    app.register_blueprint(jwks_routes(document))
    return app


def _django_urlconf(document: JWKSDocument, *, asynchronous: bool) -> types.ModuleType:
    from backendkit.django.auth import jwks_routes
    from backendkit.django.views import handler404, handler500

    urlconf = types.ModuleType(f"jwks_urls_{asynchronous}")
    urlconf.urlpatterns = jwks_routes(document, asynchronous=asynchronous)  # type: ignore[attr-defined]
    urlconf.handler404 = handler404  # type: ignore[attr-defined]
    urlconf.handler500 = handler500  # type: ignore[attr-defined]
    return urlconf


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application

    document = _service().document
    urls = _django_urlconf(document, asynchronous=False)
    with ExitStack() as stack:
        stack.enter_context(override_settings(ROOT_URLCONF=urls, MIDDLEWARE=["backendkit.django.ErrorMiddleware"]))
        yield {
            "fastapi-uvicorn": stack.enter_context(uvicorn_server(_fastapi_app(document))),
            "starlette-uvicorn": stack.enter_context(uvicorn_server(_starlette_app(document))),
            "flask-waitress": stack.enter_context(waitress_server(_flask_app(document))),
            "django-waitress-wsgi": stack.enter_context(waitress_server(get_wsgi_application())),
            "django-uvicorn-asgi": stack.enter_context(uvicorn_server(get_asgi_application())),
        }


def _replies(ports: dict[str, int], method: str) -> dict[str, tuple[int, dict[str, str], bytes]]:
    found: dict[str, tuple[int, dict[str, str], bytes]] = {}
    for name, port in ports.items():
        reply: Reply = request(port, method, JWKS_PATH)
        status, headers, body = comparable(reply)
        headers.pop("x-request-id", None)
        found[name] = (status, headers, body)
    return found


def test_every_framework_serves_the_same_bytes_for_get_and_head(ports: dict[str, int]) -> None:
    document = _service().document
    expected_headers = {
        "content-type": JWKS_MEDIA_TYPE,
        "cache-control": "public, max-age=600",
        "content-length": str(len(document.body)),
        **API_HEADERS,  # the security headers, on by default
    }
    assert _replies(ports, "GET") == dict.fromkeys(ports, (200, expected_headers, document.body))
    assert _replies(ports, "HEAD") == dict.fromkeys(ports, (200, expected_headers, b""))
    refused = _replies(ports, "POST")
    assert {name: (status, headers.get("allow")) for name, (status, headers, _) in refused.items()} == dict.fromkeys(
        ports, (405, "GET, HEAD")
    )
    envelopes = [json.loads(body) for _, _, body in refused.values()]
    for envelope in envelopes:
        envelope["error"]["request_id"] = "N"
    assert envelopes == [envelopes[0]] * len(ports)  # the envelope, the same everywhere
    assert envelopes[0]["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_djangos_async_view_serves_the_same_bytes_under_asgi(ports: dict[str, int]) -> None:
    document = _service().document
    expected = _replies({"django-uvicorn-asgi": ports["django-uvicorn-asgi"]}, "GET")
    with override_settings(ROOT_URLCONF=_django_urlconf(document, asynchronous=True)):
        for method in ("GET", "HEAD", "POST"):
            assert (
                _replies({"async": ports["django-uvicorn-asgi"]}, method)["async"][:2]
                == _replies({"sync": ports["flask-waitress"]}, method)["sync"][:2]
            )
        assert _replies({"async": ports["django-uvicorn-asgi"]}, "GET")["async"] == expected["django-uvicorn-asgi"]


def test_the_library_python_jose_and_pyjwt_verify_the_services_tokens_with_its_published_set(
    ports: dict[str, int],
) -> None:
    service = _service()
    for name, port in ports.items():
        url = f"http://127.0.0.1:{port}{JWKS_PATH}"
        tokens = {alg: issuer.issue(f"user-of-{name}") for alg, issuer in service.issuers.items()}
        # The library's own client, over the socket, with each backend that can verify the algorithm.
        for backend in (JoseBackend(), PyJWTBackend()):
            client = JWKSClient(url, backend=backend)
            verifier = JWTVerifier(jwks=client, issuer=ISSUER, audience=AUDIENCE, backend=backend)
            for alg, token in tokens.items():
                if alg in backend.algorithms:
                    assert verifier.verify(token).subject == f"user-of-{name}", (name, backend.name, alg)
        # PyJWT's own JWKS client fetches the set itself.
        pyjwt_client = pyjwt.PyJWKClient(url)
        for alg, token in tokens.items():
            key = pyjwt_client.get_signing_key_from_jwt(token)
            claims = pyjwt.decode(token, key.key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
            assert claims["sub"] == f"user-of-{name}", (name, alg)
        # python-jose has no JWKS client: its users fetch the set and pick the key by kid, as here
        # (given the whole set, it would build every key with the token's alg and fail on the first
        # of another type). RS and ES only: python-jose has no PS or EdDSA.
        with urllib.request.urlopen(url, timeout=5) as response:
            published = {jwk["kid"]: jwk for jwk in json.loads(response.read())["keys"]}
        for alg in ("RS256", "ES256"):
            key = published[jose_jwt.get_unverified_header(tokens[alg])["kid"]]
            claims = jose_jwt.decode(tokens[alg], key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
            assert claims["sub"] == f"user-of-{name}", (name, alg)


def test_fastapi_documents_the_route_with_its_media_type_schema_keys_and_cache_control() -> None:
    from fastapi.testclient import TestClient
    from openapi_spec_validator import validate

    document = _service().document
    schema = TestClient(_fastapi_app(document)).get("/openapi.json").json()
    validate(schema)
    operations = schema["paths"][JWKS_PATH]
    assert list(operations) == ["get"]  # HEAD is served, not documented (as install() does for every GET)
    ok = operations["get"]["responses"]["200"]
    assert list(ok["content"]) == [JWKS_MEDIA_TYPE]
    assert ok["content"][JWKS_MEDIA_TYPE]["example"] == json.loads(document.body)
    assert ok["content"][JWKS_MEDIA_TYPE]["schema"]["required"] == ["keys"]
    assert ok["headers"]["Cache-Control"]["schema"]["example"] == "public, max-age=600"


@pytest.mark.parametrize("path", ["jwks.json", "", None])
def test_a_route_path_must_start_with_a_slash(path: Any) -> None:
    from backendkit.django.auth import jwks_routes as django_jwks_routes
    from backendkit.fastapi.auth import jwks_routes as fastapi_jwks_routes
    from backendkit.flask.auth import jwks_routes as flask_jwks_routes
    from backendkit.starlette.auth import jwks_routes

    document = _service().document
    for make in (jwks_routes, fastapi_jwks_routes, flask_jwks_routes, django_jwks_routes):
        with pytest.raises(ConfigurationError, match="starts with"):
            make(document, path=path)


# Issuing at a time and for a lifetime of one's choosing (documented in issue 19 §3).


def test_issue_takes_the_time_and_lifetime_it_is_given_and_refuses_nonsense() -> None:
    from backendkit.auth import issue

    key = HMACKey("a-32-byte-secret-for-this-example!")
    verifier = JWTVerifier([key], audience="api", leeway=0)
    token = issue(key, "u", audience="api", lifetime=60, now=1_800_000_000.9)
    claims = verifier.claims(token, now=1_800_000_059)
    assert (claims["iat"], claims["exp"]) == (1_800_000_000, 1_800_000_060)
    issuer = TokenIssuer(key, audience="api", lifetime=600)
    assert verifier.claims(issuer.issue("u", now=1_800_000_000), now=1_800_000_000)["exp"] == 1_800_000_600
    assert verifier.claims(issuer.issue("u", now=1_800_000_000, lifetime=5.7), now=1_800_000_000)["exp"] == (
        1_800_000_005
    )
    for lifetime in (0, 0.5, -60, float("inf"), float("nan"), True, "60"):
        with pytest.raises(ConfigurationError, match="lifetime"):
            TokenIssuer(key, lifetime=lifetime)
        with pytest.raises(ValueError, match="lifetime"):
            issuer.issue("u", lifetime=lifetime)
    for now in (-1, float("nan"), float("inf"), True, "1800000000"):
        with pytest.raises(ValueError, match="now"):
            issuer.issue("u", now=now)
