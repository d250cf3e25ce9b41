"""The concurrent-refresh rule, across processes sharing one redis-server, one PostgreSQL or one SQLite file.

Several worker processes hold the same refresh token and present it at the same
moment (a barrier), round after round, each round with the token it got in the
last: all of them must get the same pair every time (one rotates, the others
are retries answered with its pair), never two different new pairs, and none is
locked out. Afterwards the family still works, and the token spent last, shown
again outside the retry window, revokes it. The stolen-token story runs with the
attacker in a process of its own.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from backendkit.auth import (
    HMACKey,
    InvalidGrant,
    InvalidToken,
    JWTVerifier,
    RefreshPolicy,
    TokenIssuer,
)
from backendkit.auth._core.refresh import FORMAT
from tests.auth.refresh_support import SHARED_KINDS, postgres_url

KEY = HMACKey("tests-only-refresh-secret-of-32-bytes!!")
POLICY = RefreshPolicy(reuse_window=10)
WORKERS = 4
ROUNDS = 12
WAIT = 120  # seconds a worker or the test waits at most for the others

# The store's kind, its URL, its prefix (Redis keys or SQL tables), and the revocation list's Redis URL:
# every process revokes access tokens in one list, as the servers of one application do.
Spec = tuple[str, str, str, str]
# The worker processes wait this long on Redis, not the request path's 0.25 s: on a loaded machine, two slow round
# trips in a row (the retry spent) would fail a refresh that is not what the test is about.
STORE_WAIT = 5.0


def _issuer(spec: Spec) -> tuple[TokenIssuer, Any, Any]:
    """An issuer on the store ``spec`` names, with the revocation list every process shares."""
    from backendkit.auth.redis import RedisRefreshStore, RedisRevocations

    kind, url, prefix, revocations_url = spec
    store: Any
    if kind == "redis":
        store = RedisRefreshStore.from_url(url, prefix=prefix, timeout=STORE_WAIT)
    else:
        from backendkit.auth.sqlalchemy import SQLRefreshStore

        store = SQLRefreshStore.from_url(url, create=True, table_prefix=prefix)
    revocations = RedisRevocations.from_url(revocations_url, prefix=f"{prefix}revoked:", timeout=STORE_WAIT)
    issuer = TokenIssuer(KEY, refresh_store=store, refresh_policy=POLICY, revocations=revocations)
    return issuer, store, revocations


def _close(*things: Any) -> None:
    for thing in things:
        close = getattr(thing, "close", None)
        if close is not None:
            close()


def _race(spec: Spec, token: str, barrier: Any, results: Any) -> None:
    """A worker: ROUNDS times, wait for the others, then refresh with the token it holds."""
    issuer, store, revocations = _issuer(spec)
    store.families("warm-up")  # connected before the race: the barrier releases requests, not connects
    answers: list[tuple[str, str, str]] = []
    try:
        for _ in range(ROUNDS):
            barrier.wait(timeout=WAIT)
            try:
                pair = issuer.refresh(token)
            except InvalidGrant as exc:
                answers.append(("refused", exc.reason, ""))
            except Exception as exc:  # a 503 would show here, by name
                answers.append(("failed", type(exc).__name__, str(exc)))
            else:
                answers.append(("ok", pair.refresh_token, pair.access_token))
                token = pair.refresh_token
    finally:
        results.put(answers)
        _close(store, revocations)


def _present(spec: Spec, token: str, later: float, results: Any) -> None:
    """The attacker: present ``token`` once, ``later`` seconds from now (outside the retry window)."""
    issuer, store, revocations = _issuer(spec)
    try:
        issuer.refresh(token, now=time.time() + later)
    except InvalidGrant as exc:
        results.put(exc.reason)
    else:
        results.put("new pair")
    finally:
        _close(store, revocations)


@pytest.fixture(params=[*SHARED_KINDS, pytest.param("sqlite-file", marks=pytest.mark.redis)])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Spec:
    name = uuid.uuid4().hex[:10]
    redis_url = request.getfixturevalue("redis_server").url
    if request.param == "redis":
        return ("redis", redis_url, f"race:{name}:", redis_url)
    if request.param == "postgres":
        return ("sql", postgres_url(request.getfixturevalue("postgres_schema")), f"r{name}_", redis_url)
    return ("sql", f"sqlite:///{tmp_path / 'sessions.db'}", f"r{name}_", redis_url)


def _run(target: Any, *argsets: tuple[Any, ...]) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=target, args=(*args, results)) for args in argsets]
    for process in processes:
        process.start()
    try:
        return [results.get(timeout=WAIT) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=WAIT)
        results.close()
        results.join_thread()
        assert [process.exitcode for process in processes] == [0] * len(processes)


def test_workers_refreshing_one_token_at_once_all_get_the_same_pair(spec: Spec) -> None:
    issuer, store, revocations = _issuer(spec)
    verifier = JWTVerifier([KEY], revocations=revocations)
    first = issuer.issue_pair("alice", claims={"roles": ["viewer"]})
    barrier = multiprocessing.get_context("spawn").Barrier(WORKERS)
    answers = _run(_race, *[(spec, first.refresh_token, barrier)] * WORKERS)

    for turn in zip(*answers, strict=True):  # each round: every worker got the one pair, none was refused
        assert {kind for kind, _, _ in turn} == {"ok"}, turn
        assert len({(refresh, access) for _, refresh, access in turn}) == 1
    tokens = [turn[0][1] for turn in zip(*answers, strict=True)]
    assert len(set(tokens)) == ROUNDS  # a new pair each round

    # The family is still usable: the last token rotates.
    last = issuer.refresh(tokens[-1])
    verifier.verify(last.access_token)
    # The token spent last, shown again outside the window: a reuse; the family and its tokens are revoked.
    with pytest.raises(InvalidGrant) as reused:
        issuer.refresh(tokens[-1], now=time.time() + POLICY.reuse_window + 1)
    assert reused.value.reason == "reused"
    with pytest.raises(InvalidGrant) as revoked:
        issuer.refresh(last.refresh_token)
    assert revoked.value.reason == "revoked"
    with pytest.raises(InvalidToken):
        verifier.verify(last.access_token)
    _close(store, revocations)


@pytest.mark.parametrize("first", ["client", "attacker"])
def test_a_stolen_token_ends_the_family_for_both(spec: Spec, first: str) -> None:
    issuer, store, revocations = _issuer(spec)
    verifier = JWTVerifier([KEY], revocations=revocations)
    stolen = issuer.issue_pair("alice")  # the attacker copies its refresh token
    if first == "client":
        client = issuer.refresh(stolen.refresh_token)
        # The attacker, in a process of its own, 30 s later (outside the window): a reuse.
        assert _run(_present, (spec, stolen.refresh_token, 30.0)) == ["reused"]
        with pytest.raises(InvalidGrant) as refused:
            issuer.refresh(client.refresh_token)  # the client is out too: the family is revoked
        assert refused.value.reason == "revoked"
        with pytest.raises(InvalidToken):
            verifier.verify(client.access_token)
    else:
        # The attacker rotates first (in its process); the client comes back later: a reuse, both are out.
        assert _run(_present, (spec, stolen.refresh_token, 0.0)) == ["new pair"]
        with pytest.raises(InvalidGrant) as refused:
            issuer.refresh(stolen.refresh_token, now=time.time() + 30)
        assert refused.value.reason == "reused"
        parsed = FORMAT.parse(stolen.refresh_token)
        assert not isinstance(parsed, str)
        family = store.get(parsed.id)
        assert family.revoked_at is not None
        assert family.generation == 1  # the attacker's pair: revoked with the family, its token refused
    with pytest.raises(InvalidToken):
        verifier.verify(stolen.access_token)
    _close(store, revocations)
