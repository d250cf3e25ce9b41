"""Golden vectors: the same refresh-token stories, told through ``TokenIssuer``, end alike on every store.

Each vector is a list of steps and what each answers; it runs on the memory store
(the reference), Redis (the Lua script), SQLite and PostgreSQL (a transaction
holding the family's row), with a fixed clock. A story that ends in a reuse or a
logout also checks that the family's access tokens are refused by a
``JWTVerifier`` reading the same revocation list.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from backendkit.auth import (
    HMACKey,
    InvalidGrant,
    InvalidToken,
    JWTVerifier,
    MemoryRevocations,
    RefreshPolicy,
    TokenIssuer,
    TokenPair,
)
from backendkit.auth._core.opaque import SECRET_BYTES
from backendkit.auth._core.refresh import FORMAT, MAX_ACCESS
from tests.auth.refresh_support import KINDS, close_store, open_store

KEY = HMACKey("tests-only-refresh-secret-of-32-bytes!!")
T0 = 1_800_000_000.0
DEFAULT = RefreshPolicy(idle=3_600, lifetime=86_400, reuse_window=10)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """One refresh-token store of each kind."""
    made = open_store(request.param, request)
    yield made
    close_store(made)


@dataclass
class Story:
    """One run of a vector: the issuer on the store under test, its clock, the pairs it handed out."""

    issuer: TokenIssuer
    verifier: JWTVerifier
    clock: list[float]
    pairs: dict[str, TokenPair] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)  # tokens the client holds (forged, damaged...)

    def token(self, name: str) -> str:
        return self.raw[name] if name in self.raw else self.pairs[name].refresh_token

    def known_as(self, pair: TokenPair) -> str:
        for name, seen in self.pairs.items():
            if seen.refresh_token == pair.refresh_token:
                same_access = seen.access_token == pair.access_token
                return f"same as {name}" if same_access else f"same refresh token as {name}, other access token"
        return "new"

    def step(self, op: str, *args: Any) -> str | None:
        if op == "login":
            name, subject = args if len(args) == 2 else (args[0], "alice")
            self.pairs[name] = self.issuer.issue_pair(subject, claims={"roles": ["viewer"]})
            return None
        if op == "wait":
            self.clock[0] += args[0]
            return None
        if op == "refresh":
            presented, name = args
            try:
                pair = self.issuer.refresh(self.token(presented))
            except InvalidGrant as exc:
                return exc.reason
            answer = self.known_as(pair)
            self.pairs.setdefault(name, pair)
            return answer
        if op == "forge":  # the family id of a real token, a secret of the attacker's
            real, name = args
            family = FORMAT.parse(self.token(real))
            assert not isinstance(family, str)
            self.raw[name] = FORMAT.compose(family.id, secrets.token_bytes(SECRET_BYTES))
            return None
        if op == "raw":
            name, value = args
            self.raw[name] = value
            return None
        if op == "access":
            try:
                self.verifier.verify(self.pairs[args[0]].access_token, now=self.clock[0])
            except InvalidToken:
                return "refused"
            return "accepted"
        if op == "logout":  # as an application's logout route does: the principal of the access token
            principal = self.verifier.verify(self.pairs[args[0]].access_token, now=self.clock[0])
            return str(self.issuer.logout(principal))
        if op == "logout family":
            family = FORMAT.parse(self.token(args[0]))
            assert not isinstance(family, str)
            return str(self.issuer.logout(family.id))
        if op == "logout everywhere":
            return str(self.issuer.logout_everywhere(args[0]))
        raise AssertionError(f"no step {op!r}")


def _eviction() -> list[tuple[tuple[Any, ...], str | None]]:
    steps: list[tuple[tuple[Any, ...], str | None]] = [(("login", "p0"), None)]
    for n in range(1, MAX_ACCESS + 2):  # one rotation a second: every access token still live
        steps += [(("wait", 1), None), (("refresh", f"p{n - 1}", f"p{n}"), "new")]
    # The family lists MAX_ACCESS live access tokens; the two oldest were pushed out and revoked at once.
    steps += [(("access", f"p{n}"), "refused" if n < 2 else "accepted") for n in range(MAX_ACCESS + 2)]
    steps += [(("logout", f"p{MAX_ACCESS + 1}"), "True")]
    steps += [(("access", f"p{n}"), "refused") for n in range(MAX_ACCESS + 2)]  # a revocation reaches them all
    return steps


VECTORS: dict[str, tuple[RefreshPolicy, list[tuple[tuple[Any, ...], str | None]]]] = {
    "rotate": (
        DEFAULT,
        [
            (("login", "a"), None),
            (("wait", 60), None),
            (("refresh", "a", "b"), "new"),
            (("wait", 60), None),
            (("refresh", "b", "c"), "new"),
            (("access", "a"), "accepted"),  # a rotation leaves earlier access tokens to expire
            (("access", "c"), "accepted"),
            (("wait", 900), None),
            (("access", "a"), "refused"),  # expired
            (("refresh", "c", "d"), "new"),
        ],
    ),
    "retry within the window": (
        DEFAULT,
        [
            (("login", "a"), None),
            (("refresh", "a", "b"), "new"),
            (("wait", 3), None),
            (("refresh", "a", "b again"), "same as b"),  # the same pair, access token included
            (("wait", 6.9), None),
            (("refresh", "a", "b once more"), "same as b"),  # 9.9 s: still within the window (its end is out)
            (("refresh", "b", "c"), "new"),  # the family goes on
            (("access", "b"), "accepted"),
            (("refresh", "b", "c again"), "same as c"),
        ],
    ),
    "retry after the window is a reuse": (
        DEFAULT,
        [
            (("login", "a"), None),
            (("refresh", "a", "b"), "new"),
            (("wait", 10.5), None),
            (("refresh", "a", "x"), "reused"),
            (("refresh", "b", "x"), "revoked"),
            (("access", "a"), "refused"),
            (("access", "b"), "refused"),
            (("refresh", "a", "x"), "revoked"),
        ],
    ),
    "a zero window: every second use is a reuse": (
        RefreshPolicy(idle=3_600, lifetime=86_400, reuse_window=0),
        [
            (("login", "a"), None),
            (("refresh", "a", "b"), "new"),
            (("refresh", "a", "x"), "reused"),  # at the very same clock reading
            (("access", "b"), "refused"),
        ],
    ),
    "reuse of an older token, within the window": (
        DEFAULT,
        [
            (("login", "a"), None),
            (("refresh", "a", "b"), "new"),
            (("refresh", "b", "c"), "new"),
            (("wait", 1), None),
            (("refresh", "a", "x"), "reused"),  # not the token spent last: no window for it
            (("refresh", "c", "x"), "revoked"),
            (("refresh", "b", "x"), "revoked"),
            (("access", "c"), "refused"),
        ],
    ),
    "a forged secret under a real family id": (
        DEFAULT,
        [
            (("login", "a"), None),
            (("forge", "a", "forged"), None),
            (("refresh", "forged", "x"), "unknown"),  # refused, and nothing revoked
            (("refresh", "a", "b"), "new"),
            (("refresh", "forged", "x"), "unknown"),
            (("access", "b"), "accepted"),
            (("raw", "family nobody made", FORMAT.compose(b"\x01" * 16, b"\x02" * SECRET_BYTES)), None),
            (("refresh", "family nobody made", "x"), "unknown"),
            (("raw", "damaged", "bkr_" + "x" * 10), None),
            (("refresh", "damaged", "x"), "malformed"),
        ],
    ),
    "idle end": (
        RefreshPolicy(idle=100, lifetime=86_400, reuse_window=10),
        [
            (("login", "a"), None),
            (("wait", 99.5), None),
            (("refresh", "a", "b"), "new"),  # using it moves the idle end
            (("wait", 100), None),
            (("refresh", "b", "x"), "expired"),  # exactly at the end
            (("refresh", "a", "x"), "reused"),  # a spent token is a reuse even in an ended family
            (("refresh", "b", "x"), "revoked"),
        ],
    ),
    "absolute end": (
        RefreshPolicy(idle=200, lifetime=300, reuse_window=10),
        [
            (("login", "a"), None),
            (("wait", 150), None),
            (("refresh", "a", "b"), "new"),
            (("wait", 149), None),
            (("refresh", "b", "c"), "new"),
            (("wait", 1), None),
            (("refresh", "c", "x"), "expired"),  # 300 s after the login, however used
            (("access", "c"), "accepted"),  # an ended family's access tokens live on; a revoked one's do not
        ],
    ),
    "a revoked family stays revoked": (
        DEFAULT,
        [
            (("login", "a"), None),
            (("refresh", "a", "b"), "new"),
            (("logout family", "b"), "True"),
            (("refresh", "a", "x"), "revoked"),  # within the window: no retry answer after a logout
            (("refresh", "b", "x"), "revoked"),
            (("access", "a"), "refused"),
            (("access", "b"), "refused"),
            (("logout family", "b"), "True"),  # still known, still revoked
        ],
    ),
    "eviction past MAX_ACCESS": (DEFAULT, _eviction()),
    "logout": (
        DEFAULT,
        [
            (("login", "a"), None),
            (("login", "other", "alice"), None),
            (("refresh", "a", "b"), "new"),
            (("logout", "b"), "True"),
            (("access", "a"), "refused"),
            (("access", "b"), "refused"),
            (("refresh", "b", "x"), "revoked"),
            (("access", "other"), "accepted"),  # another login of the same user
            (("refresh", "other", "y"), "new"),
            (("raw", "nobody", FORMAT.compose(b"\x03" * 16, b"\x04" * SECRET_BYTES)), None),
            (("logout family", "nobody"), "False"),
        ],
    ),
    "logout everywhere": (
        DEFAULT,
        [
            (("login", "a", "alice"), None),
            (("login", "x", "alice"), None),
            (("login", "z", "bob"), None),
            (("refresh", "x", "y"), "new"),
            (("logout everywhere", "alice"), "2"),
            (("refresh", "a", "n"), "revoked"),
            (("refresh", "y", "n"), "revoked"),
            (("access", "a"), "refused"),
            (("access", "y"), "refused"),
            (("refresh", "z", "w"), "new"),
            (("access", "w"), "accepted"),
            (("logout everywhere", "carol"), "0"),
        ],
    ),
    "a stolen token, the client first": (
        DEFAULT,
        [
            (("login", "t0"), None),  # the attacker copies t0
            (("refresh", "t0", "client 1"), "new"),
            (("wait", 30), None),
            (("refresh", "t0", "attacker 1"), "reused"),
            (("refresh", "client 1", "client 2"), "revoked"),
            (("access", "client 1"), "refused"),
        ],
    ),
    "a stolen token, the attacker first": (
        DEFAULT,
        [
            (("login", "t0"), None),
            (("refresh", "t0", "attacker 1"), "new"),
            (("wait", 30), None),
            (("refresh", "attacker 1", "attacker 2"), "new"),
            (("wait", 30), None),
            (("refresh", "t0", "client 1"), "reused"),  # the client comes back: both are out
            (("refresh", "attacker 2", "attacker 3"), "revoked"),
            (("access", "attacker 2"), "refused"),
        ],
    ),
    "a stolen token within the window: the retry rule's price, caught at the next turn": (
        DEFAULT,
        [
            (("login", "t0"), None),
            (("refresh", "t0", "client 1"), "new"),
            (("wait", 2), None),
            (("refresh", "t0", "attacker 1"), "same as client 1"),  # the same pair, never a second one
            (("wait", 60), None),
            (("refresh", "client 1", "client 2"), "new"),
            (("wait", 60), None),
            (("refresh", "client 1", "attacker 2"), "reused"),  # their copy of client 1 is spent
            (("refresh", "client 2", "client 3"), "revoked"),
            (("access", "client 2"), "refused"),
        ],
    ),
}


@pytest.mark.parametrize("name", VECTORS)
def test_golden_vectors(store: Any, name: str) -> None:
    policy, steps = VECTORS[name]
    clock = [T0]
    revocations = MemoryRevocations()
    issuer = TokenIssuer(
        KEY, refresh_store=store, refresh_policy=policy, revocations=revocations, clock=lambda: clock[0]
    )
    story = Story(issuer, JWTVerifier([KEY], revocations=revocations), clock)
    answers = [story.step(*op) for op, _ in steps]
    assert answers == [expected for _, expected in steps]


def test_the_family_as_kept_is_the_same_on_every_store(store: Any) -> None:
    clock = [T0]
    issuer = TokenIssuer(KEY, refresh_store=store, revocations=MemoryRevocations(), clock=lambda: clock[0])
    claims = {"roles": [], "scope": "a b", "tenant": {"id": 7, "ratio": 0.1 + 0.2}, "name": "Zoë {x}"}
    first = issuer.issue_pair("alice", claims=claims)
    clock[0] += 0.123456789
    second = issuer.refresh(first.refresh_token)
    parsed = FORMAT.parse(second.refresh_token)
    assert not isinstance(parsed, str)
    family = store.get(parsed.id)
    assert family is not None
    assert dict(family.claims) == claims  # exactly: an empty list stays a list, a float keeps its digits
    assert (family.subject, family.generation, family.created_at, family.last_used_at) == ("alice", 1, T0, clock[0])
    assert family.spent_at == clock[0]
    assert family.previous is not None
    assert family.sealed is not None
    assert len(family.access) == 2
    assert family.revoked_at is None
    assert store.get("0" * 22) is None


def test_the_stores_are_importable_from_backendkit_auth() -> None:
    import backendkit.auth
    from backendkit.auth.redis import RedisRefreshStore
    from backendkit.auth.sqlalchemy import SQLRefreshStore

    assert backendkit.auth.RedisRefreshStore is RedisRefreshStore  # (imported when asked for: the redis extra)
    assert backendkit.auth.SQLRefreshStore is SQLRefreshStore  # (the sqlalchemy extra)
    assert {"RedisRefreshStore", "SQLRefreshStore", "MemoryRefreshStore"} <= set(backendkit.auth.__all__)
