"""TokenVerified and AccessGuarded from BearerAuth and the adapters; JWKS fetches and kid lookups over a real server."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backendkit.auth import BearerAuth, InvalidToken, JWTVerifier, MemoryRevocations, require
from backendkit.auth.jwks import JWKSClient
from backendkit.errors import APIError
from backendkit.observability import Event, observe
from backendkit.observability._core.events import AccessGuarded, JwksFetched, KeyLookedUp, TokenVerified
from tests.auth import apps
from tests.auth.jwks_server import JWKSServer, jwks_server
from tests.auth.keys import NOW, forge, token
from tests.auth.test_jwks import AUDIENCE, Clock, rsa_signer
from tests.support.observing import RecordingObserver


@pytest.fixture
def seen() -> Iterator[RecordingObserver]:
    observer = RecordingObserver()
    with observe(observer):
        yield observer


def verified(seen: RecordingObserver) -> list[tuple[str, str | None]]:
    return [(e.outcome, e.reason) for e in seen.of(TokenVerified)]


def test_accepted_and_each_refusal_with_its_reason(seen: RecordingObserver) -> None:
    verifier = apps.verifier()
    revocations = verifier.revocations
    assert isinstance(revocations, MemoryRevocations)
    revocations.revoke("jti-revoked", NOW + 600, NOW)
    auth = BearerAuth(verifier)
    auth.authenticate("Bearer " + token())
    refused = {
        "expired": token(iat=int(NOW) - 7200, exp=int(NOW) - 3600),
        "bad_signature": forge({"alg": "HS256", "typ": "JWT"}, {"sub": "x"}, key=b"another-secret-of-32-bytes-long!"),
        "malformed": "not-a-token",
        "wrong_audience": token(aud="another-api"),
        "revoked": token(jti="jti-revoked"),
    }
    for reason, refused_token in refused.items():
        with pytest.raises(InvalidToken) as failure:
            auth.authenticate("Bearer " + refused_token)
        assert failure.value.reason == reason
    assert verified(seen) == [("accepted", None), *(("refused", reason) for reason in refused)]
    assert all(e.duration > 0 for e in seen.of(TokenVerified))


def test_no_token_is_no_verification(seen: RecordingObserver) -> None:
    """A request without a token is a 401 in the request metrics; nothing was verified, so no event."""
    auth = BearerAuth(apps.verifier())
    with pytest.raises(APIError):
        auth.authenticate(None)
    with pytest.raises(APIError):  # a malformed header (400): no token either
        auth.authenticate("Basic dXNlcjpwYXNz")
    assert seen.events == []


def test_guards_allow_or_deny_with_their_reason(seen: RecordingObserver) -> None:
    auth = BearerAuth(apps.verifier())
    principal = auth.authenticate("Bearer " + token())
    seen.clear()
    auth.authorize(require(scopes=["tasks:read"]), principal, {})
    with pytest.raises(APIError):
        auth.authorize(require(scopes=["tasks:write"]), principal, {})
    with pytest.raises(APIError):
        auth.authorize(require(roles=["admin"]), principal, {})
    asyncio.run(auth.aauthorize(require(), principal, {}))
    assert [(e.outcome, e.reason) for e in seen.of(AccessGuarded)] == [
        ("allowed", None),
        ("denied", "insufficient_scope"),
        ("denied", "forbidden"),
        ("allowed", None),
    ]


def test_through_fastapi(seen: RecordingObserver) -> None:
    with TestClient(apps.fastapi_app()) as client:
        good = {"Authorization": "Bearer " + token()}
        assert client.get("/me", headers=good).status_code == 200
        assert client.get("/me").status_code == 401
        assert client.get("/me", headers={"Authorization": "Bearer " + token(aud="x")}).status_code == 401
        assert client.delete("/owned/someone-else", headers=good).status_code == 403
    assert verified(seen) == [("accepted", None), ("refused", "wrong_audience"), ("accepted", None)]
    assert [(e.outcome, e.reason) for e in seen.of(AccessGuarded)] == [("allowed", None), ("denied", "forbidden")]


# JWKS ------------------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with jwks_server() as running:
        running.jwks = {"keys": [rsa_signer("rsa-a").jwk()]}
        yield running


def jwks_verifier(server: JWKSServer, clock: Clock) -> JWTVerifier:
    return JWTVerifier(jwks=JWKSClient(server.url, clock=clock, timeout=1.0, cooldown=30), audience=AUDIENCE)


def jwks_events(seen: RecordingObserver) -> list[tuple[str, Any]]:
    shown: list[tuple[str, Any]] = []
    for event in seen.events:
        if isinstance(event, KeyLookedUp):
            shown.append(("lookup", "hit" if event.hit else "miss"))
        elif isinstance(event, JwksFetched):
            shown.append(("fetch", event.outcome))
    return shown


def test_a_fetch_a_hit_and_an_unknown_kid_refused_in_the_cooldown(seen: RecordingObserver, server: JWKSServer) -> None:
    clock = Clock()
    verifier = jwks_verifier(server, clock)
    verifier.verify(rsa_signer("rsa-a").token())
    verifier.verify(rsa_signer("rsa-a").token())
    with pytest.raises(InvalidToken):  # not published, and the set was fetched just now: the cooldown refuses it
        verifier.verify(rsa_signer("rsa-b").token())
    assert server.requests() == 1
    assert jwks_events(seen) == [
        ("fetch", "ok"),
        ("lookup", "miss"),
        ("lookup", "hit"),
        ("lookup", "miss"),
        ("fetch", "cooldown_refused"),
    ]


def test_a_failed_fetch_then_a_refusal_in_the_cooldown(seen: RecordingObserver, server: JWKSServer) -> None:
    server.mode = "fail"
    verifier = jwks_verifier(server, Clock())
    for _ in range(2):
        with pytest.raises(InvalidToken) as failure:
            verifier.verify(rsa_signer("rsa-a").token())
        assert failure.value.reason == "keys_unavailable"
    assert server.requests() == 1
    assert jwks_events(seen) == [
        ("fetch", "failed"),
        ("lookup", "miss"),
        ("lookup", "miss"),
        ("fetch", "cooldown_refused"),
    ]


def test_the_async_fetch_runs_in_the_callers_context(server: JWKSServer) -> None:
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="none")

    class Contextual(RecordingObserver):
        def __init__(self) -> None:
            super().__init__()
            self.contexts: list[tuple[str, str]] = []

        def record(self, event: Event) -> None:
            self.contexts.append((type(event).__name__, marker.get()))
            super().record(event)

    seen = Contextual()
    verifier = jwks_verifier(server, Clock())

    async def main() -> None:
        marker.set("request-1")
        await verifier.averify(rsa_signer("rsa-a").token())

    with observe(seen):
        asyncio.run(main())
    assert ("JwksFetched", "request-1") in seen.contexts  # told on the fetch's thread, in the request's context
    assert jwks_events(seen)[0] == ("fetch", "ok")


def test_identify_counts_an_accepted_token_and_never_a_refusal(seen: RecordingObserver) -> None:
    # What the Flask and Django adapters call to name the user before the view (a log line, a
    # rate-limit key): they keep the principal, and the view's authentication reuses it.
    auth = BearerAuth(apps.verifier())
    assert auth.identify("Bearer " + token(aud="x")) is None
    assert auth.identify(None) is None
    principal = auth.identify("Bearer " + token())
    assert principal is not None
    assert verified(seen) == [("accepted", None)]
