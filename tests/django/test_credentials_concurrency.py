"""Concurrent use, each party on a connection of its own: threads and processes on PostgreSQL, threads on SQLite.

One refresh token refreshed by several parties at once (a client retrying on a flaky network,
two tabs) yields one new pair, handed to all of them: never two different pairs, and nobody
is locked out. A revocation racing a rotation or a ``last_used_at`` write stands, and a
rotation that read the key before it was revoked keeps no successor. Of several rotations
of one API key at once, one makes the successor and the others are refused, their keys never kept,
also on PostgreSQL at REPEATABLE READ and SERIALIZABLE, where the loser's UPDATE fails to serialize.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.db.backends.postgresql.psycopg_any import IsolationLevel

from backendkit.apikeys import APIKeys, KeyRecord, NewKey, RotationRefused
from backendkit.auth import HMACKey, InvalidToken, TokenIssuer, TokenPair
from backendkit.django.credentials import DjangoKeyStore, DjangoRefreshStore
from backendkit.errors import ServiceUnavailable
from backendkit.stores import StoreUnavailable
from tests.apikeys.race import PausedRotation, ended, revoke_past_the_check, rotate_past_the_check, rotated_already
from tests.django.at_once import at_once
from tests.django.credentials_db import ALIASES, PYTHON, ROOT, database, extra_database, project_env
from tests.support.postgres import Schema

SECRET = "a-32-byte-secret-for-concurrent-refreshes"
PEPPER = "pepper-for-concurrent-refreshes"
PARTIES = 6
ROUNDS = 12


@pytest.fixture
def alias(request: pytest.FixtureRequest) -> str:
    return database(request, "postgres")


def issuer_on(alias: str) -> TokenIssuer:
    return TokenIssuer(HMACKey(SECRET), refresh_store=DjangoRefreshStore(using=alias), pepper=PEPPER)


def generation(alias: str, refresh_token: str) -> int:
    from backendkit.auth._core.refresh import FORMAT
    from backendkit.django.credentials.models import RefreshFamily

    parsed = FORMAT.parse(refresh_token)
    assert not isinstance(parsed, str)
    return RefreshFamily.objects.using(alias).get(pk=parsed.id).generation


def test_threads_refreshing_one_token_at_once_all_get_the_one_new_pair(alias: str) -> None:
    issuer = issuer_on(alias)
    pair = issuer.issue_pair("alice", claims={"roles": ["viewer"]})
    for _ in range(ROUNDS):
        token = pair.refresh_token
        answers = at_once([lambda: issuer.refresh(token)] * PARTIES)  # noqa: B023
        assert all(not isinstance(answer, Exception) for answer in answers), answers
        assert len({(answer.access_token, answer.refresh_token) for answer in answers}) == 1
        pair = answers[0]
    assert generation(alias, pair.refresh_token) == ROUNDS  # one rotation a round; the others were retries
    assert issuer.refresh(pair.refresh_token).refresh_token != pair.refresh_token  # nobody locked out


@pytest.fixture
def workers(alias: str, postgres_schema: Schema) -> Iterator[list[subprocess.Popen[str]]]:
    env = project_env(f"postgresql:{postgres_schema.name}", BK_JWT_SECRET=SECRET, BK_PEPPER=PEPPER)
    started = [
        subprocess.Popen(
            [PYTHON, "-m", "tests.django.credentials_project.refresh_worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PARTIES)
    ]
    try:
        for worker in started:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        yield started
    finally:
        for worker in started:
            assert worker.stdin is not None
            worker.stdin.close()
        for worker in started:
            assert worker.wait(timeout=30) == 0
            assert worker.stdout is not None
            worker.stdout.close()


def test_processes_refreshing_one_token_at_once_all_get_the_one_new_pair(
    alias: str, workers: list[subprocess.Popen[str]]
) -> None:
    issuer = issuer_on(alias)
    token = issuer.issue_pair("alice", claims={"roles": ["viewer"]}).refresh_token
    for _ in range(ROUNDS):
        for worker in workers:  # every worker has the token before any answer is read
            assert worker.stdin is not None
            worker.stdin.write(token + "\n")
            worker.stdin.flush()
        answers = [json.loads(worker.stdout.readline()) for worker in workers if worker.stdout is not None]
        assert all("error" not in answer for answer in answers), answers
        assert len({(answer["access"], answer["refresh"]) for answer in answers}) == 1
        token = answers[0]["refresh"]
    assert generation(alias, token) == ROUNDS
    assert issuer.refresh(token).refresh_token != token  # nobody locked out


def test_a_revocation_racing_a_store_rotation_and_a_touch_stands(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    for n in range(ROUNDS):
        key_id = f"key{n}"
        store.add(KeyRecord(id=key_id, digest="00", owner="alice", expires_at=1000.0))
        successor = KeyRecord(id=f"next{n}", digest="00", owner="bob")
        answers = at_once(
            [
                lambda: store.revoke(key_id, now=10.0),  # noqa: B023
                lambda: store.rotate(key_id, successor, until=500.0),  # noqa: B023
                lambda: store.touch(key_id, now=20.0),  # noqa: B023
            ]
        )
        assert answers[0::2] == [True, None]
        old = store.get(key_id)
        assert old is not None
        assert (old.revoked_at, old.last_used_at) == (10.0, 20.0)
        if answers[1] == f"next{n}":  # the rotation's step came first: the revocation, then, of the old key only
            assert (old.rotated_to, old.expires_at) == (f"next{n}", 500.0)
            assert store.get(f"next{n}") == successor
        else:  # the revocation came first: nothing written
            assert answers[1] is RotationRefused.REVOKED
            assert (old.rotated_to, old.expires_at) == (None, 1000.0)
            assert store.get(f"next{n}") is None
    assert len(store.list("alice")) == ROUNDS


def test_a_revocation_racing_a_rotation_stands(alias: str) -> None:
    # Whichever comes first at the database: the rotation's step (its successor stands, the old key is
    # revoked), or the revocation (the rotation, whenever it read the key, is refused and writes nothing).
    # A revoked key never has a successor made after its revocation.
    keys = APIKeys(DjangoKeyStore(using=alias))
    for n in range(ROUNDS):
        made = keys.create("alice", name=f"round {n}")
        key_id = made.record.id
        answers = at_once([lambda: keys.revoke(key_id), lambda: keys.rotate(key_id, grace=60)])  # noqa: B023
        assert answers[0] is True
        old = keys.get(key_id)
        assert old is not None
        assert old.revoked_at is not None
        successors = [record for record in keys.list("alice") if record.name == f"round {n}" and record.id != key_id]
        if isinstance(answers[1], NewKey):  # the rotation's step came before the revocation
            assert old.rotated_to == answers[1].record.id
            assert successors == [answers[1].record]
        else:  # the revocation came first, whether the rotation read the key before it or after
            assert str(answers[1]) == ended(key_id, "revoked"), answers[1]
            assert (old.rotated_to, successors) == (None, [])


@pytest.fixture(params=ALIASES)
def any_alias(request: pytest.FixtureRequest) -> str:
    return database(request, request.param)


def test_rotations_of_one_key_at_once_make_one_successor(any_alias: str) -> None:
    keys = APIKeys(DjangoKeyStore(using=any_alias), prefix="bk_test_")
    current = keys.create("alice", roles=["viewer"])
    chain = [current]
    for _ in range(ROUNDS):
        key_id = current.record.id
        answers = at_once([lambda: keys.rotate(key_id, grace=60)] * PARTIES)  # noqa: B023
        won = [answer for answer in answers if isinstance(answer, NewKey)]
        assert len(won) == 1, answers
        current = won[0]
        lost = [str(answer) for answer in answers if not isinstance(answer, NewKey)]
        assert lost == [rotated_already(key_id, current.record.id)] * (PARTIES - 1)
        chain.append(current)
    assert {record.id for record in keys.list("alice")} == {made.record.id for made in chain}  # no loser's key
    for made, successor in pairwise(chain):
        assert keys.get(made.record.id).rotated_to == successor.record.id  # type: ignore[union-attr]
    assert keys.verifier(cache_ttl=0).verify(current.key).subject == "alice"


def test_a_rotation_past_its_check_when_another_wins_is_refused_and_keeps_no_key(any_alias: str) -> None:
    paused = type("PausedDjangoKeyStore", (PausedRotation, DjangoKeyStore), {})
    keys = APIKeys(paused(using=any_alias), prefix="bk_test_")
    old = keys.create("alice", roles=["viewer"])
    lost, won = rotate_past_the_check(keys, old.record.id, in_thread_after=connections.close_all)
    assert isinstance(lost, ValueError), lost
    assert str(lost) == rotated_already(old.record.id, won.record.id)
    retired = keys.get(old.record.id)
    assert retired is not None
    assert retired.rotated_to == won.record.id
    assert {record.id for record in keys.list("alice")} == {old.record.id, won.record.id}
    assert keys.verifier(cache_ttl=0).verify(won.key).subject == "alice"


def test_a_rotation_past_its_check_when_the_key_is_revoked_is_refused_and_keeps_no_key(any_alias: str) -> None:
    paused = type("PausedDjangoKeyStore", (PausedRotation, DjangoKeyStore), {})
    keys = APIKeys(paused(using=any_alias), prefix="bk_test_")
    old = keys.create("alice", roles=["viewer"])
    lost, revoked = revoke_past_the_check(keys, old.record.id, in_thread_after=connections.close_all)
    assert revoked is True
    assert isinstance(lost, ValueError), lost
    assert str(lost) == ended(old.record.id, "revoked")
    kept = keys.get(old.record.id)
    assert kept is not None
    assert (kept.rotated_to, kept.expires_at) == (None, None)
    assert kept.revoked_at is not None
    assert keys.list("alice") == [kept]  # the successor was never written
    with pytest.raises(InvalidToken):
        keys.verifier(cache_ttl=0).verify(old.key)


@pytest.mark.parametrize("mode", ["IMMEDIATE", "DEFERRED"])
def test_on_sqlite_concurrent_refreshes_queue_or_get_a_503_never_two_pairs(tmp_path: Path, mode: str) -> None:
    # SQLite has no row locks: the transaction's database lock serialises rotations. Taken at BEGIN
    # (IMMEDIATE), a second rotation waits for it; taken at the first write (DEFERRED, the default), a
    # reader that cannot upgrade is refused at once: a 503 the client retries, never a second pair.
    entry = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "families.sqlite3"),
        "OPTIONS": {"transaction_mode": mode, "timeout": 20},
    }
    with extra_database("sqlite_threads", entry) as lite:
        call_command("migrate", "backendkit_credentials", database=lite, verbosity=0)
        issuer = issuer_on(lite)
        pair = issuer.issue_pair("alice")
        for _ in range(ROUNDS):
            token = pair.refresh_token
            answers = at_once([lambda: issuer.refresh(token)] * PARTIES)  # noqa: B023
            pairs = {(answer.access_token, answer.refresh_token) for answer in answers if isinstance(answer, TokenPair)}
            refused = [answer for answer in answers if not isinstance(answer, TokenPair)]
            assert len(pairs) == 1
            assert all(isinstance(answer, ServiceUnavailable) for answer in refused), refused
            if mode == "IMMEDIATE":
                assert refused == []
            pair = next(answer for answer in answers if isinstance(answer, TokenPair))
        assert generation(lite, pair.refresh_token) == ROUNDS


# PostgreSQL at REPEATABLE READ or SERIALIZABLE (Django's "isolation_level" option): a rotation whose
# UPDATE waited for another transaction's change of the row fails to serialize; the store answers as
# a rotation behind that change does, or tries again when the change was no reason to refuse.

STRICT = {"repeatable read": IsolationLevel.REPEATABLE_READ, "serializable": IsolationLevel.SERIALIZABLE}


@pytest.fixture(params=list(STRICT))
def strict_alias(request: pytest.FixtureRequest, alias: str) -> Iterator[str]:
    entry = dict(connections.settings[alias])
    entry["OPTIONS"] = {**entry.get("OPTIONS", {}), "isolation_level": STRICT[request.param]}
    with extra_database("postgres_strict", entry) as strict:  # the same tables, another isolation level
        yield strict


def backend_pid(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid: int = cursor.fetchone()[0]
    return pid


def wait_for_a_lock(url: str, pid: list[int]) -> None:
    """Until the backend ``pid[0]`` (set by its thread) waits on a lock: a row another transaction holds."""
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            if pid:
                row = watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", pid).fetchone()
                if row is not None and row[0] == "Lock":
                    return
            time.sleep(0.01)
    raise AssertionError("the second rotation never waited on the first one's row")


def behind(alias: str, url: str, work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """``work`` started in a thread on ``alias``; back once it waits on a row lock. The thread, and its answer."""
    pid: list[int] = []
    answer: list[Any] = []

    def run() -> None:
        try:
            pid.append(backend_pid(alias))
            answer.append(work())
        except Exception as exc:  # the test looks at it
            answer.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    wait_for_a_lock(url, pid)
    return thread, answer


def test_at_a_strict_isolation_the_rotation_behind_another_is_refused_as_rotated_already(
    strict_alias: str, postgres_schema: Schema
) -> None:
    keys = APIKeys(DjangoKeyStore(using=strict_alias), prefix="bk_test_")
    old = keys.create("alice", roles=["viewer"]).record.id
    updated, go = threading.Event(), threading.Event()

    def stop_after_the_update(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        done = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith("UPDATE"):
            updated.set()
            go.wait(30)
        return done

    first: list[Any] = []

    def rotate_first() -> None:
        try:
            with connections[strict_alias].execute_wrapper(stop_after_the_update):
                first.append(keys.rotate(old, grace=60))
        except Exception as exc:  # the test looks at it
            first.append(exc)
        finally:
            connections.close_all()

    winner = threading.Thread(target=rotate_first)
    winner.start()
    assert updated.wait(30)  # the first rotation holds the old key's row, its transaction open
    try:
        loser, second = behind(strict_alias, postgres_schema.url, lambda: keys.rotate(old, grace=60))
    finally:
        go.set()
    winner.join(30)
    loser.join(30)

    won = first[0]
    assert isinstance(won, NewKey), won
    assert isinstance(second[0], ValueError), second[0]
    assert str(second[0]) == rotated_already(old, won.record.id)  # not "could not serialize access"
    assert {record.id for record in keys.list("alice")} == {old, won.record.id}  # the loser's key was never kept


@pytest.mark.parametrize(
    ("change", "answer"),
    [("rotated_to = 'winner'", "winner"), ("revoked_at = 10", RotationRefused.REVOKED), ("last_used_at = 20", "next")],
)
def test_at_a_strict_isolation_a_rotation_behind_a_change_answers_as_after_it(
    strict_alias: str, postgres_schema: Schema, change: str, answer: Any
) -> None:
    from backendkit.django.credentials.models import APIKey

    store = DjangoKeyStore(using=strict_alias)
    store.add(KeyRecord(id="old", digest="00", owner="alice"))
    successor = KeyRecord(id="next", digest="00", owner="alice")
    with psycopg.connect(postgres_schema.url, options=f"-csearch_path={postgres_schema.name}") as holder:
        holder.execute(f'UPDATE "{APIKey._meta.db_table}" SET {change} WHERE id = %s', ["old"])
        try:
            thread, answered = behind(strict_alias, postgres_schema.url, lambda: store.rotate("old", successor, 500.0))
        finally:
            holder.commit()
    thread.join(30)
    assert answered == [answer]
    kept = store.get("old")
    assert kept is not None
    if answer == "next":  # a last_used_at write is no reason to refuse: tried again, and rotated
        assert (kept.rotated_to, kept.last_used_at, store.get("next")) == ("next", 20.0, successor)
    else:  # nothing written by the refused rotation
        assert (kept.expires_at, store.get("next")) == (None, None)


def test_at_a_strict_isolation_inside_the_callers_transaction_the_failure_is_raised(
    strict_alias: str, postgres_schema: Schema
) -> None:
    # The caller's transaction is broken (its snapshot predates the change): no retry inside it can help.
    from backendkit.django.credentials.models import APIKey

    store = DjangoKeyStore(using=strict_alias)
    store.add(KeyRecord(id="old", digest="00", owner="alice"))
    successor = KeyRecord(id="next", digest="00", owner="alice")

    def in_a_transaction() -> Any:
        with transaction.atomic(using=strict_alias):
            store.get("old")  # the snapshot is taken
            return store.rotate("old", successor, 500.0)

    with psycopg.connect(postgres_schema.url, options=f"-csearch_path={postgres_schema.name}") as holder:
        holder.execute(f'UPDATE "{APIKey._meta.db_table}" SET rotated_to = %s WHERE id = %s', ["winner", "old"])
        try:
            thread, answered = behind(strict_alias, postgres_schema.url, in_a_transaction)
        finally:
            holder.commit()
    thread.join(30)
    assert isinstance(answered[0], StoreUnavailable), answered
    assert "could not serialize access" in str(answered[0])
    assert store.get("next") is None
