"""The Django key and refresh stores keep their protocols, on SQLite and on PostgreSQL, as the memory stores do."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backendkit.apikeys import KeyIdTaken, KeyRecord, KeyStore, MemoryKeyStore, RotationRefused
from backendkit.auth import MemoryRefreshStore, RefreshStore
from backendkit.auth._core.refresh import Family, Outcome, RefreshPolicy, Rotation
from backendkit.django.credentials import DjangoKeyStore, DjangoRefreshStore
from tests.django.credentials_db import ALIASES, database, empty

POLICY = RefreshPolicy(idle=100.0, lifetime=1000.0, reuse_window=10.0)
FAMILY_ID = "F" * 22
DIGEST = "ab" * 32
AGAIN = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=ALIASES)
def alias(request: pytest.FixtureRequest) -> str:
    return database(request, request.param)


def test_the_stores_are_what_the_managers_take() -> None:
    assert isinstance(DjangoKeyStore(), KeyStore)
    assert isinstance(DjangoRefreshStore(), RefreshStore)
    with pytest.raises(TypeError, match="database alias"):
        DjangoKeyStore(using=3)  # type: ignore[arg-type]


# API keys.


def record(key_id: str = "k1", owner: str = "alice", **fields: Any) -> KeyRecord:
    return KeyRecord(id=key_id, digest=DIGEST, owner=owner, **fields)


def test_a_record_comes_back_as_it_was_added(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    made = record(
        name="CI deploys",
        roles=("viewer", "deployer"),
        scopes=("tasks:read",),
        created_at=1_800_000_000.123456789,
        expires_at=1_800_003_600.5,
        last_used_at=1_800_000_001.25,
        prefix="bk_test_",
    )
    store.add(made)
    assert store.get("k1") == made
    assert store.get("k1").digest == DIGEST  # type: ignore[union-attr]
    assert store.get("k2") is None


def test_a_taken_id_is_refused_and_the_first_record_kept(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    store.add(record(owner="alice"))
    with pytest.raises(KeyIdTaken, match="taken"):
        store.add(record(owner="mallory"))
    assert store.get("k1").owner == "alice"  # type: ignore[union-attr]


def test_a_taken_id_inside_the_callers_transaction_leaves_the_transaction_usable(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    with transaction.atomic(using=alias):
        store.add(record("k1"))
        with pytest.raises(KeyIdTaken, match="taken"):
            store.add(record("k1"))
        store.add(record("k2"))
    assert [made.id for made in store.list()] == ["k1", "k2"]


def test_the_list_is_oldest_first_and_by_owner(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    for key_id, owner, created in [("b", "alice", 2.0), ("c", "bob", 1.0), ("a", "alice", 2.0), ("d", "alice", 0.5)]:
        store.add(record(key_id, owner, created_at=created))
    assert [made.id for made in store.list()] == ["d", "c", "a", "b"]
    assert [made.id for made in store.list("alice")] == ["d", "a", "b"]
    assert store.list("carol") == []


def test_a_revocation_keeps_its_first_time_and_says_whether_the_key_exists(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    store.add(record())
    assert store.revoke("k1", now=10.0) is True
    assert store.revoke("k1", now=20) is True  # an int time is taken as the float it is
    assert store.get("k1").revoked_at == 10.0  # type: ignore[union-attr]
    assert store.revoke("nope", now=10.0) is False


def test_rotating_keeps_the_successor_names_it_and_only_ever_shortens_the_lifetime(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    store.add(record("never"))
    store.add(record("later", expires_at=500.0))
    store.add(record("sooner", expires_at=50.0))
    for key_id in ("never", "later", "sooner"):
        assert store.rotate(key_id, record(f"{key_id}-next", owner="bob"), until=100.0) == f"{key_id}-next"
    got = {made.id: (made.rotated_to, made.expires_at) for made in store.list("alice")}
    assert got == {"never": ("never-next", 100.0), "later": ("later-next", 100.0), "sooner": ("sooner-next", 50.0)}
    assert [made.id for made in store.list("bob")] == ["later-next", "never-next", "sooner-next"]
    assert store.rotate("nope", record("nope-next"), until=100.0) is None
    assert store.get("nope-next") is None


def test_a_key_is_rotated_once_and_a_second_rotation_writes_nothing(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    store.add(record("old", expires_at=500.0))
    assert store.rotate("old", record("first"), until=100.0) == "first"
    assert store.rotate("old", record("second"), until=50.0) == "first"
    assert store.get("second") is None
    assert store.get("old") == record("old", rotated_to="first", expires_at=100.0)
    with pytest.raises(KeyIdTaken, match="taken"):  # a taken successor id: nothing written, the old key untouched
        store.rotate("first", record("old"), until=10.0)
    assert store.get("first") == record("first")


def test_a_lost_rotation_inside_the_callers_transaction_leaves_it_usable(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    with transaction.atomic(using=alias):
        store.add(record("k1"))
        with pytest.raises(KeyIdTaken, match="taken"):
            store.rotate("k1", record("k1"), until=10.0)
        assert store.rotate("k1", record("k2"), until=10.0) == "k2"
        assert store.rotate("k1", record("k3"), until=10.0) == "k2"
    assert [made.id for made in store.list()] == ["k1", "k2"]


def test_no_later_write_undoes_a_revocation(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    store.add(record())
    store.revoke("k1", now=10.0)
    assert store.rotate("k1", record("k2"), until=100.0) is RotationRefused.REVOKED  # a revoked key: no successor
    store.touch("k1", now=20.0)
    got = store.get("k1")
    assert got is not None
    assert (got.revoked_at, got.rotated_to, got.expires_at, got.last_used_at) == (10.0, None, None, 20.0)
    assert got.refusal(30.0) == "revoked"
    assert store.get("k2") is None


def test_a_key_rotated_then_revoked_still_answers_its_successor(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    store.add(record("old", expires_at=500.0))
    assert store.rotate("old", record("first"), until=100.0) == "first"
    assert store.revoke("old", now=10.0) is True
    assert store.rotate("old", record("first"), until=100.0) == "first"  # the same call sent again
    assert store.rotate("old", record("second"), until=100.0) == "first"
    assert store.get("old") == record("old", rotated_to="first", expires_at=100.0, revoked_at=10.0)
    assert [made.id for made in store.list()] == ["first", "old"]


def test_a_refused_rotation_inside_the_callers_transaction_leaves_it_usable(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    with transaction.atomic(using=alias):
        store.add(record("k1", revoked_at=5.0))
        assert store.rotate("k1", record("k2"), until=10.0) is RotationRefused.REVOKED
        store.add(record("k3"))
    assert [made.id for made in store.list()] == ["k1", "k3"]


def test_touching_writes_last_used_and_makes_no_key(alias: str) -> None:
    store = DjangoKeyStore(using=alias)
    store.add(record())
    store.touch("k1", now=61.5)
    store.touch("nope", now=61.5)
    assert store.get("k1").last_used_at == 61.5  # type: ignore[union-attr]
    assert store.get("nope") is None


KEY_IDS = st.sampled_from(["a", "b", "c"])
TIMES = st.floats(min_value=0.0, max_value=4e9, allow_nan=False, allow_infinity=False)
KEY_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), KEY_IDS, st.sampled_from(["alice", "bob"]), TIMES, st.none() | TIMES),
        st.tuples(st.just("revoke"), KEY_IDS, TIMES),
        st.tuples(st.just("rotate"), KEY_IDS, KEY_IDS, TIMES),
        st.tuples(st.just("touch"), KEY_IDS, TIMES),
    ),
    max_size=12,
)


def _apply(store: Any, op: tuple[Any, ...]) -> object:
    name, *args = op
    if name == "add":
        key_id, owner, created, expires = args
        try:
            return store.add(record(key_id, owner, created_at=created, expires_at=expires, roles=[owner]))
        except ValueError:
            return "taken"
    if name == "rotate":
        key_id, successor, until = args
        try:
            return store.rotate(key_id, record(successor, "carol", created_at=until), until)
        except ValueError:
            return "taken"
    return getattr(store, name)(*args)


@AGAIN
@given(ops=KEY_OPS)
def test_the_key_store_answers_as_the_memory_store_does(alias: str, ops: list[tuple[Any, ...]]) -> None:
    empty(alias)
    database_store, memory = DjangoKeyStore(using=alias), MemoryKeyStore()
    for op in ops:
        assert _apply(database_store, op) == _apply(memory, op), op
    for owner in (None, "alice", "bob"):
        assert database_store.list(owner) == memory.list(owner)
    for key_id in ("a", "b", "c"):
        assert database_store.get(key_id) == memory.get(key_id)


# Refresh-token families.


def family(family_id: str = FAMILY_ID, subject: str = "alice", now: float = 0.0) -> Family:
    return Family(
        family_id,
        subject,
        claims={"roles": ["viewer"], "scope": "tasks:read"},
        created_at=now,
        last_used_at=now,
        current="d0",
        access=(("j0", int(now), int(now) + 900),),
    )


def rotation(n: int, now: float) -> Rotation:
    return Rotation(digest=f"d{n}", sealed=f"sealed-{n}", access=(f"j{n}", int(now), int(now) + 900))


def stored(alias: str, family_id: str = FAMILY_ID) -> Family | None:
    from backendkit.django.credentials.models import RefreshFamily

    row = RefreshFamily.objects.using(alias).filter(pk=family_id).first()
    return None if row is None else row.to_family()


def test_a_family_is_kept_once_and_listed_by_subject(alias: str) -> None:
    store = DjangoRefreshStore(using=alias)
    store.create(family(), POLICY)
    store.create(family("G" * 22, now=1.0), POLICY)
    store.create(family("H" * 22, subject="bob"), POLICY)
    with pytest.raises(ValueError, match="exists"):
        store.create(family(subject="mallory"), POLICY)
    assert store.families("alice") == [FAMILY_ID, "G" * 22]
    assert stored(alias) == family()


def test_the_live_token_rotates_and_is_remembered_as_spent(alias: str) -> None:
    store = DjangoRefreshStore(using=alias)
    store.create(family(), POLICY)
    first = store.rotate(FAMILY_ID, "d0", rotation(1, 5.0), 5.0, POLICY)
    assert (first.kind, first.spent) == ("rotated", "d0")
    assert first.family is not None
    assert (first.family.generation, first.family.current, first.family.previous) == (1, "d1", "d0")
    assert stored(alias) == first.family
    second = store.rotate(FAMILY_ID, "d1", rotation(2, 30.0), 30.0, POLICY)
    assert (second.kind, second.spent) == ("rotated", "d1")
    # d0 is neither live nor the one spent last: only the table of spent digests knows it.
    reuse = store.rotate(FAMILY_ID, "d0", rotation(3, 40.0), 40.0, POLICY)
    assert reuse.kind == "reused"
    assert reuse.family is not None
    assert reuse.family.revoked_at == 40.0
    assert stored(alias) == reuse.family
    assert store.families("alice") == []


def test_the_token_spent_last_is_a_retry_within_the_window_and_a_reuse_after(alias: str) -> None:
    store = DjangoRefreshStore(using=alias)
    store.create(family(), POLICY)
    first = store.rotate(FAMILY_ID, "d0", rotation(1, 5.0), 5.0, POLICY)
    retry = store.rotate(FAMILY_ID, "d0", rotation(9, 14.9), 14.9, POLICY)
    assert retry == Outcome("retry", first.family)  # the first use's answer, sealed: not a second pair
    assert stored(alias) == first.family
    late = store.rotate(FAMILY_ID, "d0", rotation(9, 15.5), 15.5, POLICY)
    assert late.kind == "reused"
    assert late.family is not None
    assert (late.family.revoked_at, late.family.sealed) == (15.5, None)
    assert stored(alias) == late.family
    assert store.rotate(FAMILY_ID, "d1", rotation(2, 16.0), 16.0, POLICY).kind == "revoked"


def test_unknown_forged_ended_and_revoked(alias: str) -> None:
    store = DjangoRefreshStore(using=alias)
    store.create(family(), POLICY)
    assert store.rotate("X" * 22, "d0", rotation(1, 1.0), 1.0, POLICY) == Outcome("unknown")
    assert store.rotate(FAMILY_ID, "forged", rotation(1, 1.0), 1.0, POLICY) == Outcome("unknown")
    assert stored(alias) == family()  # a forged secret under a real id revokes nothing
    assert store.rotate(FAMILY_ID, "d0", rotation(1, 100.0), 100.0, POLICY).kind == "expired"  # idle: 100 s
    assert store.revoke(FAMILY_ID, 50.0, POLICY) is not None
    assert store.rotate(FAMILY_ID, "d0", rotation(1, 60.0), 60.0, POLICY).kind == "revoked"


def test_a_revocation_keeps_its_first_time_and_drops_the_retry_answer(alias: str) -> None:
    store = DjangoRefreshStore(using=alias)
    store.create(family(), POLICY)
    store.rotate(FAMILY_ID, "d0", rotation(1, 5.0), 5.0, POLICY)
    revoked = store.revoke(FAMILY_ID, 7.0, POLICY)
    assert revoked is not None
    assert (revoked.revoked_at, revoked.sealed, revoked.current) == (7.0, None, "d1")
    assert [entry[0] for entry in revoked.live_access(7.0)] == ["j0", "j1"]  # for the issuer to revoke
    assert store.revoke(FAMILY_ID, 9.0, POLICY).revoked_at == 7.0  # type: ignore[union-attr]
    assert store.revoke("X" * 22, 9.0, POLICY) is None
    assert stored(alias) == revoked


def test_a_login_deletes_the_families_that_ended_and_their_spent_tokens(alias: str) -> None:
    from backendkit.django.credentials.models import SpentRefreshToken

    store = DjangoRefreshStore(using=alias)
    store.create(family(), POLICY)  # ends at 100 (idle), unless used
    store.rotate(FAMILY_ID, "d0", rotation(1, 50.0), 50.0, POLICY)  # now ends at 150
    store.create(family("G" * 22, now=149.0), POLICY)
    assert stored(alias) is not None
    store.create(family("H" * 22, now=150.0), POLICY)
    assert stored(alias) is None
    assert not SpentRefreshToken.objects.using(alias).filter(family_id=FAMILY_ID).exists()
    assert store.families("alice") == ["G" * 22, "H" * 22]


REFRESH_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("rotate"), st.integers(0, 8) | st.just("forged"), st.floats(0.0, 60.0)),
        st.tuples(st.just("revoke"), st.just(0), st.floats(0.0, 60.0)),
    ),
    min_size=1,
    max_size=14,
)


@AGAIN
@given(ops=REFRESH_OPS)
def test_the_refresh_store_answers_as_the_memory_store_does(alias: str, ops: list[tuple[Any, ...]]) -> None:
    empty(alias)
    database_store, memory = DjangoRefreshStore(using=alias), MemoryRefreshStore()
    for store in (database_store, memory):
        store.create(family(), POLICY)
    issued, now = ["d0"], 0.0
    for n, (name, which, wait) in enumerate(ops, start=1):
        now += wait
        if name == "revoke":
            assert database_store.revoke(FAMILY_ID, now, POLICY) == memory.revoke(FAMILY_ID, now, POLICY)
            continue
        # A token of the family: the live one (0), one spent before it (1, 2...), or one never issued.
        presented = "forged" if which == "forged" else issued[max(0, len(issued) - 1 - which)]
        step = rotation(n, now)
        got, expected = (store.rotate(FAMILY_ID, presented, step, now, POLICY) for store in (database_store, memory))
        assert got == expected, (n, presented)
        if got.kind == "rotated":
            issued.append(step.digest)
    # What each store holds in the end, whole: a revocation answers with it.
    assert database_store.revoke(FAMILY_ID, now + 1, POLICY) == memory.revoke(FAMILY_ID, now + 1, POLICY)
