"""The key stores behind one table of tests: memory, Redis, SQLite and PostgreSQL, on real servers.

Every store keeps the same records and changes them one field at a time, so a
revocation is never undone by a rotation or a ``last_used_at`` write made
meanwhile, and a revoked key is never rotated (threads race them here). A store that cannot answer raises
``StoreUnavailable``, and the verifier turns that into its outage policy: a 503
when ``"closed"``, cached keys still accepted when ``"open"``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from backendkit.apikeys import APIKeys, APIKeyVerifier, KeyIdTaken, KeyRecord, KeyStore, RotationRefused
from backendkit.auth import InvalidToken
from backendkit.errors import ServiceUnavailable
from backendkit.stores import StoreUnavailable
from tests.apikeys.conftest import KINDS, REMOTE, SHARED, Stores

NOW = 1_800_000_000.0


def record(key_id: str = "k1", **changes: Any) -> KeyRecord:
    fields: dict[str, Any] = {"id": key_id, "digest": "ab" * 32, "owner": "alice", "created_at": NOW}
    return KeyRecord(**{**fields, **changes})


on_every_store = pytest.mark.parametrize("stores", KINDS, indirect=True)
on_shared_stores = pytest.mark.parametrize("stores", SHARED, indirect=True)
on_remote_stores = pytest.mark.parametrize("stores", REMOTE, indirect=True)


@on_every_store
def test_a_record_comes_back_as_it_was_kept(store: KeyStore) -> None:
    assert isinstance(store, KeyStore)
    full = record(
        "4bXq9ZtLm2Kp",
        owner="svc:deploy/ü",
        name="CI deploys — ünïcode, commas",
        roles=("editor", "viewer"),
        scopes=("tasks:read", "tasks:write"),
        created_at=NOW + 0.123456789,
        expires_at=NOW + 86_400.5,
        last_used_at=NOW + 1 / 3,
        revoked_at=NOW + 2.25,
        rotated_to="5cYr0AuMn3Lq",
        prefix="bk_test_",
    )
    bare = record("k2")
    store.add(full)
    store.add(bare)
    assert store.get("4bXq9ZtLm2Kp") == full
    assert store.get("k2") == bare
    assert store.get("unknown-id") is None


@on_every_store
def test_an_id_is_kept_once(store: KeyStore) -> None:
    store.add(record("k1", owner="alice"))
    with pytest.raises(KeyIdTaken, match="taken"):
        store.add(record("k1", owner="mallory", digest="cd" * 32))
    assert store.get("k1") == record("k1", owner="alice")
    assert [r.id for r in store.list("mallory")] == []


@on_every_store
def test_a_list_is_oldest_first_and_by_owner(store: KeyStore) -> None:
    made = [
        record("c-third", created_at=NOW + 2),
        record("b-second", owner="bob", created_at=NOW + 1),
        record("a-first", created_at=NOW),
        record("z-tied", created_at=NOW + 2),  # same time as c-third: by id
        record("y-tied", owner="bob", created_at=NOW + 2),
    ]
    for each in made:
        store.add(each)
    assert [r.id for r in store.list()] == ["a-first", "b-second", "c-third", "y-tied", "z-tied"]
    assert [r.id for r in store.list("alice")] == ["a-first", "c-third", "z-tied"]
    assert store.list("bob") == [made[1], made[4]]
    assert store.list("nobody") == []


@on_every_store
def test_a_revocation_keeps_its_first_time(store: KeyStore) -> None:
    store.add(record("k1"))
    assert store.revoke("k1", NOW + 10) is True
    assert store.revoke("k1", NOW + 20) is True  # it exists; the first time stays
    assert store.get("k1") == record("k1", revoked_at=NOW + 10)


@on_every_store
def test_rotating_keeps_the_successor_names_it_and_never_lengthens_a_key(store: KeyStore) -> None:
    store.add(record("forever"))
    store.add(record("soon", expires_at=NOW + 50))
    store.add(record("later", expires_at=NOW + 500, last_used_at=NOW + 1))
    successors = [record(f"n{i}", owner="bob", created_at=NOW + i, roles=("viewer",)) for i in (1, 2, 3)]
    assert store.rotate("forever", successors[0], NOW + 100) == "n1"
    assert store.rotate("soon", successors[1], NOW + 100) == "n2"
    assert store.rotate("later", successors[2], NOW + 100) == "n3"
    assert store.get("forever") == record("forever", rotated_to="n1", expires_at=NOW + 100)
    assert store.get("soon") == record("soon", rotated_to="n2", expires_at=NOW + 50)
    assert store.get("later") == record("later", rotated_to="n3", expires_at=NOW + 100, last_used_at=NOW + 1)
    assert [store.get(made.id) for made in successors] == successors
    assert store.list("bob") == successors  # indexed by owner, as add() does


@on_every_store
def test_a_key_is_rotated_once_and_a_second_rotation_writes_nothing(store: KeyStore) -> None:
    store.add(record("old", expires_at=NOW + 500))
    assert store.rotate("old", record("first"), NOW + 100) == "first"
    assert store.rotate("old", record("second"), NOW + 50) == "first"  # refused: whom it went to
    assert store.get("second") is None
    assert store.get("old") == record("old", rotated_to="first", expires_at=NOW + 100)  # the first's grace
    assert store.rotate("old", record("first"), NOW + 100) == "first"  # the same call sent again: done already
    assert [made.id for made in store.list()] == ["first", "old"]


@on_every_store
def test_a_revoked_key_is_not_rotated_and_nothing_is_written(store: KeyStore) -> None:
    store.add(record("old", expires_at=NOW + 500, revoked_at=NOW + 1))
    store.add(record("ahead", revoked_at=NOW + 10_000))  # stamped by a clock ahead: revoked all the same
    store.add(record("taken", owner="bob"))
    assert store.rotate("old", record("n1"), NOW + 100) is RotationRefused.REVOKED
    assert store.rotate("ahead", record("n2"), NOW + 100) is RotationRefused.REVOKED
    assert store.rotate("old", record("taken"), NOW + 100) is RotationRefused.REVOKED  # before the id is looked at
    assert store.get("old") == record("old", expires_at=NOW + 500, revoked_at=NOW + 1)
    assert store.get("ahead") == record("ahead", revoked_at=NOW + 10_000)
    assert [made.id for made in store.list()] == ["ahead", "old", "taken"]


@on_every_store
def test_a_key_rotated_then_revoked_still_answers_its_successor(store: KeyStore) -> None:
    store.add(record("old"))
    assert store.rotate("old", record("first"), NOW + 100) == "first"
    assert store.revoke("old", NOW + 1) is True
    assert store.rotate("old", record("first"), NOW + 100) == "first"  # the same call sent again: a win still
    assert store.rotate("old", record("second"), NOW + 100) == "first"  # rotated already, before it was revoked
    assert store.get("old") == record("old", rotated_to="first", expires_at=NOW + 100, revoked_at=NOW + 1)
    assert [made.id for made in store.list()] == ["first", "old"]


@on_every_store
def test_a_rotation_to_a_taken_id_is_refused_and_writes_nothing(store: KeyStore) -> None:
    store.add(record("old"))
    store.add(record("taken", owner="bob"))
    with pytest.raises(KeyIdTaken, match="taken"):
        store.rotate("old", record("taken"), NOW + 100)
    assert store.get("old") == record("old")
    assert store.get("taken") == record("taken", owner="bob")
    assert store.list("alice") == [record("old")]


@on_every_store
def test_touching_sets_last_used_and_nothing_else(store: KeyStore) -> None:
    store.add(record("k1", revoked_at=NOW + 5, expires_at=NOW + 9))
    store.touch("k1", NOW + 7)
    assert store.get("k1") == record("k1", revoked_at=NOW + 5, expires_at=NOW + 9, last_used_at=NOW + 7)


@on_every_store
def test_a_change_to_an_unknown_key_writes_nothing(store: KeyStore) -> None:
    assert store.revoke("ghost", NOW) is False
    assert store.rotate("ghost", record("n1"), NOW) is None
    store.touch("ghost", NOW)
    assert store.get("ghost") is None
    assert store.list() == []


@on_every_store
def test_changes_are_field_level(store: KeyStore) -> None:
    store.add(record("k1"))
    store.rotate("k1", record("n1"), NOW + 100)
    store.revoke("k1", NOW + 1)
    store.touch("k1", NOW + 2)
    store.revoke("k1", NOW + 3)
    store.rotate("k1", record("n2"), NOW + 50)
    assert store.get("k1") == record(
        "k1", revoked_at=NOW + 1, rotated_to="n1", expires_at=NOW + 100, last_used_at=NOW + 2
    )


@on_every_store
def test_a_revocation_is_never_undone_by_a_concurrent_rotation_or_touch(store: KeyStore) -> None:
    # Six rotations a key (one a round) race two touch threads and a revocation in the third round: the
    # revocation stands, and the key is rotated by the first rotation if that came before it, else never.
    ids = [f"race-{i:02d}" for i in range(12)]
    for key_id in ids:
        store.add(record(key_id))
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def hammer(work: Callable[[str, int], object]) -> None:
        try:
            start.wait()
            for round_ in range(6):
                for key_id in ids:
                    work(key_id, round_)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [
        threading.Thread(target=hammer, args=(lambda k, r: store.touch(k, NOW + r),)),
        threading.Thread(target=hammer, args=(lambda k, r: store.rotate(k, record(f"{k}-n{r}"), NOW + 1000 - r),)),
        threading.Thread(target=hammer, args=(lambda k, r: store.touch(k, NOW + 10 + r),)),
        threading.Thread(target=hammer, args=(lambda k, r: r == 2 and store.revoke(k, NOW + 42),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for key_id in ids:
        final = store.get(key_id)
        assert final is not None
        assert final.revoked_at == NOW + 42, key_id
        successors = [made.id for made in store.list() if made.id.startswith(f"{key_id}-")]
        if final.rotated_to is None:  # revoked before the first rotation's step: no rotation wrote anything
            assert (final.expires_at, successors) == (None, [])
        else:  # the first rotation came first; the five after it wrote nothing
            assert (final.rotated_to, final.expires_at, successors) == (f"{key_id}-n0", NOW + 1000, [f"{key_id}-n0"])
        assert final.last_used_at is not None


# A store that cannot answer: every operation raises StoreUnavailable (never the driver's error).
OPERATIONS: dict[str, Callable[[KeyStore], object]] = {
    "add": lambda s: s.add(record("k1")),
    "get": lambda s: s.get("k1"),
    "list": lambda s: s.list(),
    "list by owner": lambda s: s.list("alice"),
    "revoke": lambda s: s.revoke("k1", NOW),
    "rotate": lambda s: s.rotate("k1", record("k2"), NOW),
    "touch": lambda s: s.touch("k1", NOW),
}


@on_remote_stores
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_store_on_a_closed_port_raises_store_unavailable(stores: Stores, operation: str) -> None:
    store = stores.dead()
    with pytest.raises(StoreUnavailable) as caught:
        OPERATIONS[operation](store)
    error = caught.value
    # The driver's error is named in the message (for the logs); a SQL driver's is not chained, since its
    # text carries the statement's parameters (digests), which a logged traceback would print.
    assert "rror" in str(error)
    assert "ab" * 32 not in str(error)
    chain = []
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    assert not any("ab" * 32 in text for text in chain)


@on_shared_stores
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_store_that_dies_raises_store_unavailable(stores: Stores, operation: str) -> None:
    store, kill = stores.dying()
    store.add(record("k0"))
    assert store.get("k0") is not None
    kill()
    with pytest.raises(StoreUnavailable):
        OPERATIONS[operation](store)


def keys_and_key(store: KeyStore) -> tuple[APIKeys, str]:
    keys = APIKeys(store, prefix="bk_test_")
    return keys, keys.create("alice", roles=["viewer"]).key


@on_remote_stores
@pytest.mark.parametrize("policy", ["closed", "open"])
def test_a_key_never_seen_on_a_dead_store_is_a_503_whatever_the_policy(stores: Stores, policy: str) -> None:
    _, key = keys_and_key(stores.make())  # a real key, made where the verifier cannot look
    verifier = APIKeyVerifier(stores.dead(), prefixes="bk_test_", on_store_error=policy)  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailable) as caught:
        verifier.verify(key)
    assert caught.value.status == 503
    assert caught.value.headers["Retry-After"] == "1"
    with pytest.raises(InvalidToken, match="invalid") as refused:  # a malformed key: no store needed, a 401
        verifier.verify(key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert refused.value.reason == "bad_checksum"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@on_shared_stores
def test_closed_a_store_that_dies_is_a_503_once_the_cache_entry_is_old(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    store, kill = stores.dying()
    clock = Clock()
    keys = APIKeys(store, prefix="bk_test_", clock=clock)
    key = keys.create("alice").key
    verifier = APIKeyVerifier(store, prefixes="bk_test_", cache_ttl=5, clock=clock, on_store_error="closed")
    assert verifier.verify(key).subject == "alice"
    kill()
    clock.now += 4  # the entry is fresh: no store needed
    assert verifier.verify(key).subject == "alice"
    clock.now += 2
    with caplog.at_level(logging.WARNING, logger="backendkit.auth"), pytest.raises(ServiceUnavailable):
        verifier.verify(key)
    assert f"{store.store_name} is unavailable" in caplog.text  # type: ignore[attr-defined]
    assert "failing closed" in caplog.text


@on_shared_stores
def test_open_a_store_that_dies_keeps_cached_keys_working(stores: Stores) -> None:
    store, kill = stores.dying(on_store_error="open")
    clock = Clock()
    keys = APIKeys(store, prefix="bk_test_", clock=clock)
    seen, unseen = keys.create("alice").key, keys.create("bob").key
    verifier = APIKeyVerifier(store, prefixes="bk_test_", cache_ttl=5, clock=clock)  # the store's own policy
    assert verifier.on_store_error == "open"
    assert verifier.verify(seen).subject == "alice"
    kill()
    clock.now += 3600  # however old the entry
    assert verifier.verify(seen).subject == "alice"
    with pytest.raises(ServiceUnavailable):  # nothing to check it against
        verifier.verify(unseen)
