"""The JWKS client against a real HTTP server on loopback, and the pure JWKS reader and cache policy."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.auth import ALGORITHMS, InvalidToken, JWTVerifier, PrivateKey, issue
from backendkit.auth._core.jwks import CachePolicy, CacheState, Need, failed, loaded, need, select
from backendkit.auth._core.jwkset import JWKEntry, KeySet, parse_discovery, parse_jwks
from backendkit.auth._core.keys import KTY_OF_ALG
from backendkit.auth.backends.jose import JoseBackend
from backendkit.auth.backends.pyjwt import PyJWTBackend
from backendkit.auth.jwks import JWKSClient
from backendkit.errors import ConfigurationError
from tests.auth.jwks_server import DISCOVERY_PATH, JWKS_PATH, JWKSServer, jwks_server
from tests.auth.keys import b64, b64json

AUDIENCE = "jwks-api"


class Clock:
    """A monotonic clock the test moves: the cache's time, never the network's."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Signer:
    kid: str
    alg: str
    pem: str
    public: dict[str, str]

    def token(self, backend: Any = None) -> str:
        return issue(PrivateKey(self.pem, alg=self.alg, kid=self.kid), "user-1", audience=AUDIENCE, backend=backend)

    def jwk(self, **members: Any) -> dict[str, Any]:
        """The published JWK: kid, alg and use set, ``members`` added (``None`` removes one)."""
        jwk = {**self.public, "kid": self.kid, "alg": self.alg, "use": "sig", **members}
        return {name: value for name, value in jwk.items() if value is not None}


def _signer(private: Any, kid: str, alg: str, public: dict[str, str]) -> Signer:
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return Signer(kid, alg, pem, public)


@functools.cache
def rsa_signer(kid: str, alg: str = "RS256", bits: int = 2048) -> Signer:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    numbers = private.public_key().public_numbers()
    public = {
        "kty": "RSA",
        "n": b64(numbers.n.to_bytes((bits + 7) // 8, "big")),
        "e": b64(numbers.e.to_bytes(3, "big")),
    }
    return _signer(private, kid, alg, public)


@functools.cache
def ec_signer(kid: str) -> Signer:
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    public = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    return _signer(private, kid, "ES256", public)


@functools.cache
def ed_signer(kid: str) -> Signer:
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _signer(private, kid, "EdDSA", {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)})


def reason(verifier: JWTVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as failure:
        verifier.verify(token)
    return failure.value.reason


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with jwks_server() as running:
        running.jwks = {"keys": [rsa_signer("rsa-a").jwk(), ec_signer("ec-a").jwk()]}
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


def verifier_for(server: JWKSServer, clock: Clock, **options: Any) -> JWTVerifier:
    options.setdefault("timeout", 1.0)
    return JWTVerifier(jwks=JWKSClient(server.url, clock=clock, **options), audience=AUDIENCE)


@pytest.mark.parametrize("signer", [rsa_signer("rsa-a"), ec_signer("ec-a")], ids=["RS256", "ES256"])
def test_a_published_key_verifies_and_is_fetched_once(server: JWKSServer, clock: Clock, signer: Signer) -> None:
    verifier = verifier_for(server, clock)
    assert server.requests() == 0  # nothing is fetched at construction
    assert verifier.verify(signer.token()).subject == "user-1"
    assert asyncio.run(verifier.averify(signer.token())).subject == "user-1"
    assert server.requests() == 1


def test_rotation_fetches_once_for_the_new_kid_after_the_cooldown(server: JWKSServer, clock: Clock) -> None:
    verifier = verifier_for(server, clock)
    old, new = rsa_signer("rsa-a"), rsa_signer("rsa-b")
    verifier.verify(old.token())
    server.jwks = {"keys": [old.jwk(), new.jwk()]}
    assert reason(verifier, new.token()) == "unknown_kid"  # just fetched: the cooldown holds
    assert server.requests() == 1
    clock.advance(30)
    assert verifier.verify(new.token()).subject == "user-1"
    assert verifier.verify(old.token()).subject == "user-1"
    assert server.requests() == 2
    server.jwks = {"keys": [new.jwk()]}
    clock.advance(300)  # the set goes stale: the next lookup refreshes it and the retired key is gone
    assert reason(verifier, old.token()) == "unknown_kid"
    assert server.requests() == 3


def _with_kid(token: str, kid: str, alg: str = "ES256") -> str:
    """``token`` with its header's kid replaced: refused on the kid, before any signature check."""
    _, payload, signature = token.split(".")
    return f"{b64json({'alg': alg, 'typ': 'JWT', 'kid': kid})}.{payload}.{signature}"


def test_a_storm_of_unknown_kids_fetches_once_per_cooldown(server: JWKSServer, clock: Clock) -> None:
    verifier = verifier_for(server, clock)
    genuine = ec_signer("ec-a").token()
    verifier.verify(genuine)
    rng = random.Random(7)
    forged = [_with_kid(genuine, f"{rng.getrandbits(64):016x}") for _ in range(1000)]
    assert {reason(verifier, token) for token in forged} == {"unknown_kid"}
    assert server.requests() == 1
    clock.advance(30)

    async def storm() -> list[BaseException | Any]:
        return await asyncio.gather(*(verifier.averify(token) for token in forged), return_exceptions=True)

    outcomes = asyncio.run(storm())
    assert {getattr(outcome, "reason", None) for outcome in outcomes} == {"unknown_kid"}
    assert server.requests() == 2
    assert verifier.verify(genuine).subject == "user-1"


@pytest.mark.parametrize("failure", ["fail", "garbage", "redirect", "oversize", "stall"])
def test_a_failed_refresh_keeps_the_last_good_set(
    server: JWKSServer, clock: Clock, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.cache_control = "max-age=60"
    verifier = verifier_for(server, clock, timeout=0.3, max_bytes=4096)
    signer = rsa_signer("rsa-a")
    verifier.verify(signer.token())
    server.mode = failure
    clock.advance(60)
    assert verifier.verify(signer.token()).subject == "user-1"  # stale, after one failed try
    assert server.requests() == 2
    assert any(
        "JWKS fetch from" in record.getMessage() for record in caplog.records if record.name == "backendkit.auth"
    )
    clock.advance(29)
    assert verifier.verify(signer.token()).subject == "user-1"
    assert server.requests() == 2  # the next try waits out the cooldown
    clock.advance(1)
    verifier.verify(signer.token())
    assert server.requests() == 3


def test_no_set_ever_fetched_is_keys_unavailable(server: JWKSServer, clock: Clock) -> None:
    verifier = verifier_for(server, clock)
    server.mode = "fail"
    token = rsa_signer("rsa-a").token()
    assert reason(verifier, token) == "keys_unavailable"
    assert reason(verifier, token) == "keys_unavailable"
    assert server.requests() == 1
    server.mode = "ok"
    clock.advance(30)
    assert verifier.verify(token).subject == "user-1"
    assert server.requests() == 2


@pytest.mark.parametrize("mode", ["stall", "trickle", "trickle-headers"])
def test_the_timeout_bounds_a_stalled_or_trickling_endpoint(server: JWKSServer, clock: Clock, mode: str) -> None:
    server.mode = mode
    verifier = verifier_for(server, clock, timeout=0.5)
    started = time.perf_counter()
    assert reason(verifier, rsa_signer("rsa-a").token()) == "keys_unavailable"
    assert 0.4 < time.perf_counter() - started < 2.5


def test_a_redirect_is_not_followed(server: JWKSServer, clock: Clock) -> None:
    server.mode = "redirect"
    assert reason(verifier_for(server, clock), rsa_signer("rsa-a").token()) == "keys_unavailable"
    assert server.requests() == 1
    assert server.requests("/moved" + JWKS_PATH) == 0


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://auth.example.test/jwks.json", True),
        ("http://10.0.0.1/jwks.json", True),
        ("http://127.0.0.1/jwks.json", False),
        ("ftp://127.0.0.1/jwks.json", True),
        ("file:///etc/jwks.json", True),
        ("https:///jwks.json", True),
        ("https://user:secret@auth.example.test/jwks.json", True),
        ("https://auth.example.test:https/jwks.json", True),
        ("jwks.json", True),
        (42, True),
    ],
)
def test_a_url_that_is_not_https_or_loopback_http_is_refused_at_construction(url: Any, loopback: bool) -> None:
    with pytest.raises(ConfigurationError):
        JWKSClient(url, allow_http_loopback=loopback)
    with pytest.raises(ConfigurationError):
        JWKSClient.from_issuer(url, allow_http_loopback=loopback)


@pytest.mark.parametrize(
    "url", ["https://auth.example.test/jwks", "http://localhost:8080/jwks", "http://127.9.9.9/jwks", "http://[::1]/k"]
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert JWKSClient(url).url == url


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": "2"},
        {"max_bytes": 10},
        {"cooldown": -1},
        {"min_ttl": 600, "max_ttl": 300},
        {"rsa_alg": "HS256"},
        {"issuer": "https://auth.example.test"},
    ],
)
def test_nonsensical_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        JWKSClient("https://auth.example.test/jwks", **options)


def test_an_rsa_key_without_alg_is_skipped_unless_configuration_binds_one(
    server: JWKSServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    signer = rsa_signer("rsa-a")
    server.jwks = {"keys": [signer.jwk(alg=None)]}
    verifier = verifier_for(server, clock)
    assert reason(verifier, signer.token()) == "unknown_kid"
    clock.advance(400)
    reason(verifier, signer.token())
    warned = [r.getMessage() for r in caplog.records if r.name == "backendkit.auth" and r.levelno == logging.WARNING]
    assert len(warned) == 1  # the same set twice: logged once
    assert "ambiguous" in warned[0]
    assert server.requests() == 2
    assert verifier_for(server, clock, rsa_alg="RS256").verify(signer.token()).subject == "user-1"
    assert reason(verifier_for(server, clock, rsa_alg="RS512"), signer.token()) == "alg_mismatch"


def test_a_token_whose_alg_is_not_the_jwks_alg_is_refused(server: JWKSServer, clock: Clock) -> None:
    signer = rsa_signer("rsa-a")
    server.jwks = {"keys": [signer.jwk(alg="RS512")]}
    assert reason(verifier_for(server, clock), signer.token()) == "alg_mismatch"


def test_a_key_the_backend_refuses_is_skipped_with_a_warning(
    server: JWKSServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    weak, good = rsa_signer("rsa-weak", bits=1024), rsa_signer("rsa-a")
    server.jwks = {"keys": [weak.jwk(), good.jwk()]}
    verifier = verifier_for(server, clock)
    assert reason(verifier, _with_kid(good.token(), weak.kid, "RS256")) == "unknown_kid"
    assert verifier.verify(good.token()).subject == "user-1"
    assert any("2048 bits" in r.getMessage() for r in caplog.records if r.name == "backendkit.auth")


def test_an_ed25519_key_without_alg_is_eddsa() -> None:
    backend = PyJWTBackend()
    signer = ed_signer("ed-a")
    with jwks_server() as server:
        server.jwks = {"keys": [signer.jwk(alg=None)]}
        client = JWKSClient(server.url, backend=backend)
        verifier = JWTVerifier(jwks=client, audience=AUDIENCE, backend=backend)
        assert verifier.verify(signer.token(backend)).subject == "user-1"


class _BrokenBackend:
    """A backend with a bug: it raises something other than ConfigurationError."""

    name = "broken"
    algorithms = frozenset(ALGORITHMS)

    def verifier(self, key: Any) -> Any:
        raise KeyError(key.kid)


def test_an_unexpected_error_still_costs_one_fetch_per_cooldown(
    server: JWKSServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    client = JWKSClient(server.url, backend=_BrokenBackend(), clock=clock)
    verifier = JWTVerifier(jwks=client, audience=AUDIENCE)
    token = rsa_signer("rsa-a").token()
    assert reason(verifier, token) == "keys_unavailable"
    assert reason(verifier, token) == "keys_unavailable"
    assert server.requests() == 1
    [record] = [r for r in caplog.records if r.name == "backendkit.auth"]
    assert record.exc_info is not None  # logged as the bug it is


@pytest.mark.parametrize(
    ("cache_control", "fresh_for"),
    [("public, max-age=120", 120), ("max-age=5", 60), ("max-age=999999999", 86400), ("no-store", 300), (None, 300)],
)
def test_max_age_is_honoured_within_bounds(
    server: JWKSServer, clock: Clock, cache_control: str | None, fresh_for: int
) -> None:
    server.cache_control = cache_control
    verifier = verifier_for(server, clock, cooldown=1)
    token = ec_signer("ec-a").token()
    verifier.verify(token)
    clock.advance(fresh_for - 1)
    verifier.verify(token)
    assert server.requests() == 1
    clock.advance(1)
    verifier.verify(token)
    assert server.requests() == 2


@pytest.mark.parametrize("trailing", ["", "/"])
def test_discovery_finds_the_jwks_on_first_use(server: JWKSServer, clock: Clock, trailing: str) -> None:
    issuer = server.base + trailing
    server.discovery = {"issuer": issuer, "jwks_uri": server.url}
    client = JWKSClient.from_issuer(issuer, clock=clock)
    verifier = JWTVerifier(jwks=client, audience=AUDIENCE)
    assert server.requests(DISCOVERY_PATH) == 0
    assert asyncio.run(verifier.averify(rsa_signer("rsa-a").token())).subject == "user-1"
    assert client.url == server.url
    clock.advance(300)
    assert verifier.verify(ec_signer("ec-a").token()).subject == "user-1"
    assert (server.requests(DISCOVERY_PATH), server.requests()) == (1, 2)  # discovered once


@pytest.mark.parametrize(
    "document",
    [
        {"issuer": "https://evil.example.test", "jwks_uri": "JWKS"},
        {"issuer": "ISSUER", "jwks_uri": "https://user:pw@evil.example.test/jwks"},
        {"issuer": "ISSUER", "jwks_uri": "http://evil.example.test/jwks"},
        {"issuer": "ISSUER"},
    ],
)
def test_discovery_for_another_issuer_or_without_a_usable_jwks_uri_fails(
    server: JWKSServer, clock: Clock, document: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    server.discovery = {name: {"ISSUER": server.base, "JWKS": server.url}.get(v, v) for name, v in document.items()}
    client = JWKSClient.from_issuer(server.base, clock=clock)
    verifier = JWTVerifier(jwks=client, audience=AUDIENCE)
    assert reason(verifier, rsa_signer("rsa-a").token()) == "keys_unavailable"
    assert (server.requests(DISCOVERY_PATH), server.requests(), client.url) == (1, 0, None)
    assert any("failed" in r.getMessage() for r in caplog.records if r.name == "backendkit.auth")


def test_a_stalled_fetch_does_not_block_the_event_loop(server: JWKSServer, clock: Clock) -> None:
    server.mode = "stall"
    verifier = verifier_for(server, clock, timeout=0.5)

    async def main() -> tuple[int, str]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        try:
            await verifier.averify(rsa_signer("rsa-a").token())
        except InvalidToken as exc:
            return ticks, exc.reason
        finally:
            ticker.cancel()
        raise AssertionError("verified without keys")

    ticks, why = asyncio.run(main())
    assert why == "keys_unavailable"
    assert ticks >= 10  # the loop kept running while the fetch waited (about 50 ticks in 0.5 s)


def test_concurrent_async_lookups_share_one_fetch(server: JWKSServer, clock: Clock) -> None:
    server.delay = 0.2
    verifier = verifier_for(server, clock)
    tokens = [rsa_signer("rsa-a").token(), ec_signer("ec-a").token()] * 25

    async def main() -> list[Any]:
        return await asyncio.gather(*(verifier.averify(token) for token in tokens))

    assert {principal.subject for principal in asyncio.run(main())} == {"user-1"}
    assert server.requests() == 1
    clock.advance(300)  # stale: one task refreshes, the others are served the stale keys meanwhile
    assert {principal.subject for principal in asyncio.run(main())} == {"user-1"}
    assert server.requests() == 2


def test_concurrent_threads_share_one_fetch(server: JWKSServer, clock: Clock) -> None:
    server.delay = 0.2
    verifier = verifier_for(server, clock)
    token = rsa_signer("rsa-a").token()
    subjects: list[str] = []
    threads = [threading.Thread(target=lambda: subjects.append(verifier.verify(token).subject)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert subjects == ["user-1"] * 10
    assert server.requests() == 1


# The pure reader, without a server.


def _never(signing_input: bytes, signature: bytes) -> bool:
    return False


def _read(*keys: Any) -> tuple[dict[str, str], tuple[str, ...]]:
    found = parse_jwks(json.dumps({"keys": list(keys)}).encode(), JoseBackend().verifier)
    return {kid: entry.alg for kid, entry in found.keys.items()}, found.warnings


def test_only_public_signature_keys_with_a_kid_and_an_unambiguous_alg_are_read() -> None:
    rsa_key, ec_key = rsa_signer("rsa-a"), ec_signer("ec-a")
    skipped = [
        rsa_key.jwk(kid="enc", use="enc"),
        rsa_key.jwk(kid="ops", key_ops=["encrypt"]),
        rsa_key.jwk(kid=None),
        rsa_key.jwk(kid="private", d="AQAB"),
        {"kty": "oct", "kid": "secret", "k": "c2VjcmV0", "alg": "HS256"},
        {"kty": "oct", "kid": "secret-public", "alg": "HS256"},
        rsa_key.jwk(kid="confused", alg="HS256"),
        ec_key.jwk(kid="k1", alg=None, crv="secp256k1"),
        ec_key.jwk(kid="bad-curve", crv="ES256"),
        ec_key.jwk(kid="es384", alg="ES384"),
        ec_key.jwk(kid="no-y", y=None),
        {"kty": "RSA", "kid": "numbers", "n": 12345, "e": 65537, "alg": "RS256"},
        "not an object",
    ]
    keys, warnings = _read(rsa_key.jwk(), ec_key.jwk(alg=None), *skipped)
    assert keys == {"rsa-a": "RS256", "ec-a": "ES256"}
    assert len(warnings) == len(skipped) - 2  # the encryption keys are skipped quietly


def test_keys_sharing_a_kid_are_all_skipped() -> None:
    keys, warnings = _read(rsa_signer("rsa-a").jwk(), ec_signer("ec-a").jwk(kid="rsa-a"), ec_signer("ec-a").jwk())
    assert keys == {"ec-a": "ES256"}
    assert warnings == ("JWKS keys skipped: several keys share kid 'rsa-a'",)


def test_an_unchanged_key_keeps_its_verify_function_across_refreshes() -> None:
    build = JoseBackend().verifier
    document = json.dumps({"keys": [rsa_signer("rsa-a").jwk(), ec_signer("ec-a").jwk()]}).encode()
    first = parse_jwks(document, build)
    changed = json.dumps({"keys": [rsa_signer("rsa-a").jwk(), ec_signer("ec-a").jwk(kid="rsa-b")]}).encode()
    second = parse_jwks(changed, build, previous=first.keys)
    assert second.keys["rsa-a"] is first.keys["rsa-a"]
    assert parse_jwks(document, build, previous={"rsa-a": JWKEntry("RS384", _never, ())}).keys["rsa-a"].alg == "RS256"


@pytest.mark.parametrize(
    "raw",
    [b"[]", b"{}", b'{"keys": {}}', b'{"keys": [], "keys": []}', b"\xff", b'{"keys": [' + b" " * 70_000 + b"]}"],
)
def test_a_document_that_is_not_a_jwks_is_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_jwks(raw, JoseBackend().verifier)


def test_discovery_documents_are_read_strictly() -> None:
    with pytest.raises(ValueError, match="issuer"):
        parse_discovery(b'{"issuer": "https://id.test/", "jwks_uri": "https://id.test/k"}', "https://id.test")
    with pytest.raises(ValueError, match="duplicate"):
        parse_discovery(b'{"issuer": "https://id.test", "issuer": "https://id.test"}', "https://id.test")


def test_the_cache_state_machine() -> None:
    policy = CachePolicy(cooldown=30, min_ttl=60, max_ttl=600)
    state = CacheState()
    assert need(state, "k", 0) is Need.FETCH
    state = failed(state, policy, 0)
    assert (need(state, "k", 29), need(state, "k", 30)) == (Need.NOTHING, Need.FETCH)
    with pytest.raises(InvalidToken, match=r".") as nothing:
        select(state, "k", "ES256")
    assert nothing.value.reason == "keys_unavailable"
    state = loaded(policy, KeySet({"k": JWKEntry("ES256", _never, ())}), "max-age=100", 30)
    assert select(state, "k", "ES256") is _never
    assert [need(state, kid, now) for kid, now in [("k", 129), ("k", 130), ("x", 59), ("x", 60)]] == [
        Need.NOTHING,
        Need.REFRESH,
        Need.NOTHING,
        Need.FETCH,
    ]
    state = failed(state, policy, 130)
    assert (need(state, "k", 159), need(state, "k", 160)) == (Need.NOTHING, Need.REFRESH)
    assert select(state, "k", "ES256") is _never  # stale-on-error
    for kid, alg, why in [("x", "ES256", "unknown_kid"), ("k", "ES384", "alg_mismatch")]:
        with pytest.raises(InvalidToken, match=r".") as refused:
            select(state, kid, alg)
        assert refused.value.reason == why


def test_cache_policies_that_make_no_sense_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        CachePolicy(min_ttl=400, max_ttl=200)
    assert CachePolicy(min_ttl=600).ttl(None) == 600.0  # the default is clamped like any max-age
    with pytest.raises(ConfigurationError):
        CachePolicy(cooldown=float("inf"))
    assert CachePolicy().ttl('max-age="90", must-revalidate') == 90.0
    assert CachePolicy().ttl("max-age=90, max-age=120") == 300.0  # two answers: neither is trusted
    assert CachePolicy().ttl("max-age=-5") == 300.0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_B64 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=48)
_MEMBER = {
    "kty": st.sampled_from(["RSA", "EC", "OKP", "oct", "rsa"]) | _JSON,
    "kid": st.text(max_size=4) | _JSON,
    "alg": st.sampled_from(sorted(ALGORITHMS)) | _JSON,
    "crv": st.sampled_from(["P-256", "P-384", "P-521", "Ed25519", "Ed448", "X25519", "secp256k1"]) | _JSON,
    "use": st.sampled_from(["sig", "enc"]) | _JSON,
    "key_ops": st.lists(st.sampled_from(["verify", "sign"])) | _JSON,
    **dict.fromkeys(["n", "e", "x", "y", "d", "k"], _B64 | _JSON),
}
_JWK = st.fixed_dictionaries({}, optional=_MEMBER)
_BACKENDS = [JoseBackend(), PyJWTBackend()]


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(_JWK | _JSON, max_size=6), backend=st.sampled_from(_BACKENDS))
def test_any_jwks_reads_as_keys_pinned_to_their_type_or_a_value_error(keys: list[Any], backend: Any) -> None:
    try:
        found = parse_jwks(json.dumps({"keys": keys}).encode(), backend.verifier, rsa_alg="PS256")
    except ValueError:
        return
    for kid, entry in found.keys.items():
        material = dict(entry.material)
        assert isinstance(kid, str)
        assert KTY_OF_ALG[entry.alg] == material["kty"] != "oct"
        assert not {"d", "k"} & material.keys()


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=256) | _JSON.map(lambda value: json.dumps(value).encode()))
def test_any_bytes_read_as_a_key_set_or_a_value_error(raw: bytes) -> None:
    try:
        found = parse_jwks(raw, JoseBackend().verifier)
    except ValueError:
        return
    assert isinstance(found.keys, dict)


def test_a_kid_the_set_lacked_is_remembered_for_a_cooldown_from_its_first_miss(
    server: JWKSServer, clock: Clock
) -> None:
    verifier = verifier_for(server, clock)
    genuine = ec_signer("ec-a").token()
    verifier.verify(genuine)  # fetch 1 at t=0
    clock.advance(29)
    assert reason(verifier, _with_kid(genuine, "forged")) == "unknown_kid"  # in the cooldown: no fetch
    clock.advance(2)  # t=31: the cooldown is over, but "forged" was missed at t=29
    assert reason(verifier, _with_kid(genuine, "forged")) == "unknown_kid"
    assert server.requests() == 1
    assert reason(verifier, _with_kid(genuine, "another")) == "unknown_kid"  # a new kid may fetch
    assert server.requests() == 2
    clock.advance(60)
    assert reason(verifier, _with_kid(genuine, "forged")) == "unknown_kid"  # forgotten: one more fetch
    assert server.requests() == 3


def test_threads_storming_with_random_kids_get_unknown_kid_and_nothing_else(server: JWKSServer) -> None:
    # The negative cache is shared by every thread: none may see it half changed.
    client = JWKSClient(server.url, timeout=1.0)
    client.select("rsa-a", "RS256")  # the set is loaded
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    errors: list[BaseException] = []

    def storm(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(3000):
            try:
                client.select(f"{rng.getrandbits(64):016x}", "RS256")
            except InvalidToken as exc:
                if exc.reason != "unknown_kid":
                    errors.append(exc)
            except BaseException as exc:
                errors.append(exc)

    try:
        threads = [threading.Thread(target=storm, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(0.005)
    assert errors == []
    assert server.requests() == 1
