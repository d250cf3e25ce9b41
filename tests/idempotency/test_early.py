"""Keys started before routing on FastAPI: what the route's own dependency taught the middleware.

A route whose key dependency is its first, and whose requests meet no user that the middleware
did not know, is remembered by its path: the next keyed requests start their key before routing,
as the app-wide middleware does. Each test asserts what a client sees: replays, refusals, and that
one user's response never goes to another principal.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from backendkit.context import set_user_id
from backendkit.fastapi import install
from backendkit.fastapi.idempotency import IdempotentRoutes
from backendkit.idempotency import Idempotency, MemoryStore


class Payment(BaseModel):
    eur: int


class UserFromHeader:
    """An authentication of the application's own, as a middleware: ``X-User`` names the user."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        for name, value in scope.get("headers", ()):
            if name == b"x-user":
                set_user_id(value.decode())
        await self.app(scope, receive, send)


def payments_app(*, user_inside: bool = False, user_outside: bool = False) -> tuple[FastAPI, list[str]]:
    """``POST /payments`` whose key dependency is its first; ``X-User`` read inside or outside the keys' layer."""
    app = FastAPI()
    install(app)
    if user_inside:  # added first: inside the idempotency middleware, so read after it
        app.add_middleware(UserFromHeader)
    keys = IdempotentRoutes(app, Idempotency(MemoryStore()))
    if user_outside:  # added last: outside it, so the user is known before the keys' layer
        app.add_middleware(UserFromHeader)
    runs: list[str] = []

    @app.post("/payments", status_code=201, dependencies=[keys.depends()])
    async def pay(payment: Payment) -> dict[str, Any]:
        runs.append(f"{payment.eur}")
        return {"id": len(runs), "eur": payment.eur}

    return app, runs


def post(client: TestClient, key: str, eur: int = 5, **headers: str) -> Any:
    return client.post("/payments", json={"eur": eur}, headers={"Idempotency-Key": key, **headers})


def test_replays_refusals_and_first_requests_stay_the_same_once_the_route_is_learned() -> None:
    app, runs = payments_app()
    with TestClient(app) as client:
        first = post(client, "k-1")
        replays = [post(client, "k-1") for _ in range(3)]
        other = post(client, "k-2", eur=7)
        mismatch = post(client, "k-1", eur=9)
        invalid = post(client, "two, keys")
        kept = post(client, "k-2", eur=7)
    assert (first.status_code, first.json()) == (201, {"id": 1, "eur": 5})
    for replay in replays:
        assert (replay.status_code, replay.content) == (201, first.content)
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.headers["content-type"] == "application/json"
        assert replay.headers["content-length"] == str(len(first.content))
        assert replay.headers["x-request-id"] != first.headers["x-request-id"]
    assert (other.status_code, other.json()) == (201, {"id": 2, "eur": 7})
    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (422, "IDEMPOTENCY_KEY_MISMATCH")
    assert (invalid.status_code, invalid.json()["error"]["code"]) == (400, "IDEMPOTENCY_KEY_INVALID")
    assert (kept.content, kept.headers["idempotent-replayed"]) == (other.content, "true")
    assert runs == ["5", "7"]


def test_a_validation_failure_releases_a_key_started_before_routing() -> None:
    app, runs = payments_app()
    with TestClient(app) as client:
        post(client, "learn")  # the route is learned
        broken = client.post("/payments", json={"eur": "five"}, headers={"Idempotency-Key": "fix-1"})
        fixed = post(client, "fix-1", eur=6)
    assert broken.status_code == 422
    assert (fixed.status_code, fixed.json()) == (201, {"id": 2, "eur": 6})
    assert "idempotent-replayed" not in fixed.headers
    assert runs == ["5", "6"]


def test_a_user_known_before_the_keys_layer_keeps_each_users_keys_apart() -> None:
    app, runs = payments_app(user_outside=True)
    with TestClient(app) as client:
        alice = post(client, "same", **{"X-User": "alice"})
        bob = post(client, "same", **{"X-User": "bob"})
        alice_again = post(client, "same", **{"X-User": "alice"})
        bob_again = post(client, "same", **{"X-User": "bob"})
        anonymous = post(client, "same")
    assert [alice.json()["id"], bob.json()["id"], anonymous.json()["id"]] == [1, 2, 3]
    assert (alice_again.content, alice_again.headers["idempotent-replayed"]) == (alice.content, "true")
    assert (bob_again.content, bob_again.headers["idempotent-replayed"]) == (bob.content, "true")
    assert "idempotent-replayed" not in anonymous.headers
    assert len(runs) == 3


def test_a_user_read_after_the_keys_layer_gets_a_key_of_their_own() -> None:
    # The route is learned from anonymous requests; then a user the middleware cannot see before
    # routing: the key taken for the client's address is released, the user's own taken instead,
    # and the path is no longer started before routing.
    app, runs = payments_app(user_inside=True)
    with TestClient(app) as client:
        post(client, "learn")
        alice = post(client, "k-a", **{"X-User": "alice"})
        alice_again = post(client, "k-a", **{"X-User": "alice"})
        anonymous = post(client, "k-a")  # the same key, body and address, without the user
        anonymous_again = post(client, "k-a")
    assert (alice.status_code, "idempotent-replayed" in alice.headers) == (201, False)
    assert (alice_again.content, alice_again.headers["idempotent-replayed"]) == (alice.content, "true")
    assert (anonymous.status_code, "idempotent-replayed" in anonymous.headers) == (201, False)
    assert anonymous.json()["id"] != alice.json()["id"]
    assert (anonymous_again.content, anonymous_again.headers["idempotent-replayed"]) == (anonymous.content, "true")
    assert len(runs) == 3


def test_credentials_no_layer_has_read_go_through_the_route() -> None:
    # An anonymous response is kept for the client's address; a request with an Authorization
    # header, from the same address with the same key and body, is not answered before routing:
    # the route's own authentication decides whose key it is.
    app, runs = payments_app(user_inside=True)
    with TestClient(app) as client:
        anonymous = post(client, "k-c")
        anonymous_again = post(client, "k-c")
        carrying = post(client, "k-c", Authorization="Bearer x", **{"X-User": "carol"})
    assert (anonymous_again.content, anonymous_again.headers["idempotent-replayed"]) == (anonymous.content, "true")
    assert (carrying.status_code, "idempotent-replayed" in carrying.headers) == (201, False)
    assert carrying.json()["id"] == 2
    assert len(runs) == 2


def test_a_dependency_before_the_key_runs_on_every_replay() -> None:
    # A route that resolves something before its key (a limit, a check) is never answered before
    # routing: a replay must not skip what that dependency decides.
    app = FastAPI()
    install(app)
    keys = IdempotentRoutes(app, Idempotency(MemoryStore()))
    checks: list[int] = []

    def check() -> None:
        checks.append(1)

    @app.post("/payments", status_code=201, dependencies=[Depends(check), keys.depends()])
    async def pay(payment: Payment) -> dict[str, int]:
        return {"eur": payment.eur}

    with TestClient(app) as client:
        replies = [post(client, "k-d") for _ in range(4)]
    assert [reply.headers.get("idempotent-replayed") for reply in replies] == [None, "true", "true", "true"]
    assert len(checks) == 4
