"""The attack corpus against the core, on both signature backends."""

from __future__ import annotations

import asyncio

import pytest

from backendkit.auth import InvalidToken, JWTVerifier, MemoryRevocations
from backendkit.auth._core.backend import SignatureBackend
from backendkit.auth.backends.jose import JoseBackend
from backendkit.auth.backends.pyjwt import PyJWTBackend
from tests.auth.corpus import CASES, Case
from tests.auth.keys import AUDIENCE, ISSUER, NOW, verifying_keys

BACKENDS = {"python-jose": JoseBackend, "pyjwt": PyJWTBackend}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def verifier(request: pytest.FixtureRequest) -> JWTVerifier:
    backend: SignatureBackend = BACKENDS[request.param]()
    return JWTVerifier(
        verifying_keys(), issuer=ISSUER, audience=AUDIENCE, backend=backend, revocations=MemoryRevocations()
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_corpus(verifier: JWTVerifier, case: Case) -> None:
    token = case.make()
    if case.reason is None:
        assert verifier.verify(token, now=NOW).subject == "user-1"
        return
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token, now=NOW)
    assert caught.value.reason == case.reason


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_corpus_async(verifier: JWTVerifier, case: Case) -> None:
    token = case.make()
    if case.reason is None:
        assert asyncio.run(verifier.averify(token, now=NOW)).subject == "user-1"
        return
    with pytest.raises(InvalidToken) as caught:
        asyncio.run(verifier.averify(token, now=NOW))
    assert caught.value.reason == case.reason


def test_the_corpus_covers_every_reason_a_token_can_cause() -> None:
    # revoked and keys_unavailable need a store or a JWKS: their own tests cover them.
    from backendkit.auth import REASONS

    assert {case.reason for case in CASES} | {None, "revoked", "keys_unavailable", "wrong_type"} >= REASONS | {None}
