"""A key is rotated once: of rotations racing, one makes the successor and the others are refused, keeping nothing.

On every store (memory, Redis, SQLite, PostgreSQL): a rotation stopped between its
check and its write while another runs whole (forced, by a store subclass that
pauses), threads rotating one key at once, and, on the stores shared between
processes, worker processes released together by a barrier, round after round.
Each time: the old key's ``rotated_to`` names the one successor there is, that
successor works, and every loser was refused as a rotation of a key rotated
already is (the command line's "Not rotated: ..."), with no key of its own left.

A revocation is never undone by a rotation in flight: a rotation stopped past its
check while the key is revoked is refused as a rotation of a revoked key is, and
keeps nothing; a revocation and a rotation at once leave either the rotation's
successor (its step came first) or no successor at all. A key that expires during
a rotation needs no such guard: its successor ends when it did.

On the SQL stores, the other operations sent while a rotation's transaction is open
(stopped after its ``UPDATE``) neither undo it nor are undone: on ``sqlite://``, one
connection the threads share, they wait for it rather than run inside it.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import event

from backendkit.apikeys import APIKeys, KeyRecord, KeyStore, NewKey
from backendkit.auth import InvalidToken
from tests.apikeys.conftest import KINDS, SHARED, Stores
from tests.apikeys.race import (
    PausedRotation,
    at_once,
    ended,
    past_the_check,
    revoke_past_the_check,
    rotate_past_the_check,
    rotated_already,
)
from tests.apikeys.workers import rotate_in_rounds

PARTIES = 6
ROUNDS = 8
WORKERS = 4
WAIT = 120  # seconds the test waits at most for a worker process

on_every_store = pytest.mark.parametrize("stores", KINDS, indirect=True)
on_sql_stores = pytest.mark.parametrize("stores", ["sqlite", "sqlite-memory", "postgresql"], indirect=True)


def refusal_of_a_second_rotation(keys: APIKeys, key_id: str) -> str:
    with pytest.raises(ValueError, match="rotated already") as refused:
        keys.rotate(key_id)
    return str(refused.value)


@on_every_store
def test_a_rotation_past_its_check_when_another_wins_is_refused_and_keeps_no_key(stores: Stores) -> None:
    store = stores.make(mixin=PausedRotation)
    keys = APIKeys(store, prefix="bk_test_")
    old = keys.create("alice", name="CI", roles=["viewer"])
    lost, won = rotate_past_the_check(keys, old.record.id)

    assert isinstance(lost, ValueError), lost
    assert str(lost) == rotated_already(old.record.id, won.record.id)
    assert str(lost) == refusal_of_a_second_rotation(keys, old.record.id)  # as if it had come after
    retired = store.get(old.record.id)
    assert retired is not None
    assert retired.rotated_to == won.record.id
    assert {record.id for record in keys.list("alice")} == {old.record.id, won.record.id}  # no third key
    verifier = keys.verifier(cache_ttl=0)
    assert verifier.verify(won.key).subject == "alice"
    assert verifier.verify(old.key).subject == "alice"  # the grace period


@on_every_store
def test_a_rotation_past_its_check_when_the_key_is_revoked_is_refused_and_keeps_no_key(stores: Stores) -> None:
    store = stores.make(mixin=PausedRotation)
    keys = APIKeys(store, prefix="bk_test_")
    old = keys.create("alice", name="CI", roles=["viewer"])
    verifier = keys.verifier(cache_ttl=0)
    lost, revoked = revoke_past_the_check(keys, old.record.id)

    assert revoked is True
    assert isinstance(lost, ValueError), lost
    assert str(lost) == ended(old.record.id, "revoked")
    with pytest.raises(ValueError, match="revoked") as later:  # as if it had come after the revocation
        keys.rotate(old.record.id)
    assert str(later.value) == str(lost)
    kept = store.get(old.record.id)
    assert kept is not None
    assert (kept.rotated_to, kept.expires_at) == (None, None)  # not retired: no grace period was given
    assert kept.revoked_at is not None
    assert keys.list("alice") == [kept]  # the successor was never written
    with pytest.raises(InvalidToken):
        verifier.verify(old.key)


@on_every_store
def test_a_revocation_and_a_rotation_at_once_never_leave_a_revoked_key_a_successor_made_after_it(
    store: KeyStore,
) -> None:
    keys = APIKeys(store, prefix="bk_test_")
    for n in range(ROUNDS):
        made = keys.create("alice", name=f"round {n}")
        key_id = made.record.id
        revoked, rotated = at_once([lambda: keys.revoke(key_id), lambda: keys.rotate(key_id, grace=60)])  # noqa: B023
        assert revoked is True
        old = keys.get(key_id)
        assert old is not None
        assert old.revoked_at is not None
        successors = [record for record in keys.list("alice") if record.name == f"round {n}" and record.id != key_id]
        if isinstance(rotated, NewKey):  # the rotation's step came first: then the revocation, of the old key only
            assert old.rotated_to == rotated.record.id
            assert successors == [rotated.record]
        else:  # the revocation came first, whenever the rotation read the key: refused, nothing written
            assert str(rotated) == ended(key_id, "revoked"), rotated
            assert (old.rotated_to, successors) == (None, [])


@on_every_store
def test_a_key_that_expires_during_its_rotation_has_a_successor_that_ends_with_it(stores: Stores) -> None:
    # No store checks expiry at its step (a store has no clock): none is needed, since a successor
    # inherits the lifetime the old key had left (a second at least) and so ends when it did.
    now = [1_800_000_000.0]
    keys = APIKeys(stores.make(mixin=PausedRotation), prefix="bk_test_", clock=lambda: now[0])
    old = keys.create("alice", expires_in=100)
    now[0] += 99.5  # half a second left at the rotation's check

    def expire() -> None:
        now[0] += 60

    made, _ = past_the_check(keys, old.record.id, expire)
    assert isinstance(made, NewKey), made
    assert made.record.expires_at == old.record.created_at + 100.5  # the lifetime left, or a second
    verifier = keys.verifier(cache_ttl=0)
    for key in (old.key, made.key):
        with pytest.raises(InvalidToken):
            verifier.verify(key, now=now[0])


@on_every_store
def test_rotations_of_one_key_at_once_make_one_successor(store: KeyStore) -> None:
    keys = APIKeys(store, prefix="bk_test_")
    current = keys.create("alice", roles=["viewer"])
    chain = [current]
    for _ in range(ROUNDS):
        key_id = current.record.id
        answers = at_once([lambda: keys.rotate(key_id, grace=60)] * PARTIES)  # noqa: B023
        won = [answer for answer in answers if isinstance(answer, NewKey)]
        assert len(won) == 1, answers
        current = won[0]
        lost = [answer for answer in answers if not isinstance(answer, NewKey)]
        assert [str(answer) for answer in lost] == [rotated_already(key_id, current.record.id)] * (PARTIES - 1)
        chain.append(current)
    # Every key there is: the first and one successor a round, each naming the next.
    assert {record.id for record in keys.list("alice")} == {made.record.id for made in chain}
    for made, successor in pairwise(chain):
        assert keys.get(made.record.id).rotated_to == successor.record.id  # type: ignore[union-attr]
    assert keys.verifier(cache_ttl=0).verify(current.key).subject == "alice"


@pytest.mark.parametrize("stores", SHARED, indirect=True)
def test_processes_rotating_one_key_at_once_make_one_successor(stores: Stores) -> None:
    store = stores.make()  # the data's home (a PostgreSQL table, a SQLite file), made here
    keys = APIKeys(store, prefix="bk_test_")
    olds = [keys.create("alice", name=f"round {n}", scopes=["tasks:read"]) for n in range(ROUNDS)]
    ids = [made.record.id for made in olds]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(WORKERS), context.Queue()
    spec: tuple[Any, ...] = (stores.kind, stores.url, stores.options())
    workers = [context.Process(target=rotate_in_rounds, args=(*spec, ids, barrier, results)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    try:
        answers = [results.get(timeout=WAIT) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=WAIT)
        results.close()
        results.join_thread()
    assert [worker.exitcode for worker in workers] == [0] * WORKERS

    verifier = keys.verifier(cache_ttl=0)
    successors = []
    for n, turn in enumerate(zip(*answers, strict=True)):  # each round: one rotated, the others were refused
        won = [(key, key_id) for kind, key, key_id in turn if kind == "ok"]
        assert len(won) == 1, turn
        key, key_id = won[0]
        refused = [(kind, message) for kind, message, _ in turn if kind != "ok"]
        assert refused == [("refused", rotated_already(ids[n], key_id))] * (WORKERS - 1)
        assert keys.get(ids[n]).rotated_to == key_id  # type: ignore[union-attr]
        principal = verifier.verify(key)
        assert (principal.subject, principal.scopes) == ("alice", frozenset({"tasks:read"}))
        successors.append(key_id)
    assert {record.id for record in keys.list("alice")} == {*ids, *successors}  # no loser's key was kept


@on_sql_stores
def test_operations_sent_while_a_rotation_is_in_its_transaction_are_kept_and_keep_it(stores: Stores) -> None:
    store: Any = stores.make()
    keys = APIKeys(store, prefix="bk_test_")
    old, bob = keys.create("alice", name="CI"), keys.create("bob")
    in_transaction, go = threading.Event(), threading.Event()
    rotating: list[threading.Thread] = []

    def stop_after_the_update(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread() in rotating and statement.lstrip().upper().startswith("UPDATE"):
            in_transaction.set()
            go.wait(WAIT)

    event.listen(store.engine, "after_cursor_execute", stop_after_the_update)
    rotated: list[Any] = []

    def rotate() -> None:
        try:
            rotated.append(keys.rotate(old.record.id, grace=60))
        except Exception as exc:  # the test looks at it
            rotated.append(exc)

    rotating.append(threading.Thread(target=rotate))
    rotating[0].start()
    assert in_transaction.wait(WAIT)
    answers: dict[str, Any] = {}
    later = KeyRecord(id="added-meanwhile", digest="00", owner="carol", created_at=time.time())

    def meanwhile(name: str, work: Any) -> threading.Thread:
        def run() -> None:
            try:
                answers[name] = work()
            except Exception as exc:  # the test looks at it
                answers[name] = exc

        return threading.Thread(target=run)

    others = [
        meanwhile("get", lambda: store.get(old.record.id)),
        meanwhile("revoke", lambda: store.revoke(bob.record.id, time.time())),
        meanwhile("touch", lambda: store.touch(bob.record.id, time.time())),
        meanwhile("add", lambda: store.add(later)),
    ]
    for thread in others:
        thread.start()
    time.sleep(0.3)  # long enough for each to run (or to wait for the rotation's end)
    go.set()
    for thread in [*rotating, *others]:
        thread.join(WAIT)
    event.remove(store.engine, "after_cursor_execute", stop_after_the_update)

    made = rotated[0]
    assert isinstance(made, NewKey), made
    assert answers["revoke"] is True
    assert (answers["touch"], answers["add"]) == (None, None)
    assert answers["get"].rotated_to in (None, made.record.id)  # before the rotation's commit, or after it
    assert store.get(old.record.id).rotated_to == made.record.id
    assert store.get(made.record.id) == made.record
    assert store.get(bob.record.id).revoked_at is not None
    assert store.get(bob.record.id).last_used_at is not None
    assert store.get("added-meanwhile") == later
    assert keys.verifier(cache_ttl=0).verify(made.key).subject == "alice"
