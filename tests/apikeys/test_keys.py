"""``APIKeys`` and ``APIKeyVerifier``: make, verify, rotate and revoke keys; the format, by hypothesis.

The lifecycle runs on every store (memory, Redis, SQLite, PostgreSQL) with a
clock of the test's own. Where a test counts store calls it uses a memory store
that counts them.
"""

from __future__ import annotations

import asyncio
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.apikeys import (
    LAST_USED_EVERY,
    APIKeys,
    APIKeyVerifier,
    KeyIdTaken,
    KeyRecord,
    KeyStore,
    MemoryKeyStore,
    RotationRefused,
)
from backendkit.auth import InvalidToken, PermissionDenied, Principal
from backendkit.auth._core.opaque import (
    ALPHABET,
    CHECK_CHARS,
    SECRET_BYTES,
    SECRET_CHARS,
    OpaqueFormat,
    b62,
    check_digits,
)
from tests.apikeys.conftest import KINDS, Stores

NOW = 1_800_000_000.0
on_every_store = pytest.mark.parametrize("stores", KINDS, indirect=True)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class CountingStore(MemoryKeyStore):
    """A memory store that counts the reads and the ``last_used_at`` writes it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.touches: list[float] = []

    def get(self, key_id: str) -> KeyRecord | None:
        self.gets += 1
        return super().get(key_id)

    def touch(self, key_id: str, now: float) -> None:
        self.touches.append(now)
        super().touch(key_id, now)


def refusal(verifier: APIKeyVerifier, key: str, **options: Any) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(key, **options)
    return caught.value


@on_every_store
def test_a_key_authenticates_as_its_owner_with_its_roles_and_scopes(store: KeyStore) -> None:
    keys = APIKeys(store, prefix="bk_test_", clock=Clock())
    made = keys.create("deploy-bot", name="CI", roles=["editor"], scopes=["tasks:write"])
    assert made.key.startswith(f"bk_test_{made.record.id}_")
    assert made.key not in repr(made)
    assert made.key[-49:] not in repr(made.record)
    principal = keys.verifier().verify(made.key, now=NOW)
    assert principal.subject == "deploy-bot"
    assert principal.roles == frozenset({"editor"})
    assert principal.scopes == frozenset({"tasks:write"})
    assert principal.claims["cred"] == "api_key"
    assert principal.claims["key_id"] == made.record.id
    assert store.get(made.record.id) == made.record.used(NOW)  # the first use is written


@on_every_store
def test_a_rotated_key_works_until_the_grace_ends_then_is_expired(store: KeyStore) -> None:
    clock = Clock()
    keys = APIKeys(store, prefix="bk_test_", clock=clock)
    old = keys.create("alice", name="CI", roles=["editor"], scopes=["tasks:read"], expires_in=7200)
    verifier = keys.verifier(cache_ttl=0)
    clock.now += 100
    new = keys.rotate(old.record.id, grace=600)
    assert (new.record.owner, new.record.name, new.record.roles, new.record.scopes) == (
        "alice",
        "CI",
        ("editor",),
        ("tasks:read",),
    )
    assert new.record.expires_at == pytest.approx(NOW + 7200)  # the lifetime left, not a new one
    retired = store.get(old.record.id)
    assert retired is not None
    assert retired.rotated_to == new.record.id
    assert retired.expires_at == NOW + 700
    assert verifier.verify(old.key, now=NOW + 699.9).subject == "alice"
    assert verifier.verify(new.key, now=NOW + 699.9).subject == "alice"
    assert refusal(verifier, old.key, now=NOW + 700).reason == "expired"
    assert verifier.verify(new.key, now=NOW + 700).subject == "alice"
    clock.now = NOW + 800
    with pytest.raises(ValueError, match="expired"):
        keys.rotate(old.record.id)
    with pytest.raises(KeyError):
        keys.rotate("unknown-id00")
    keys.revoke(new.record.id)
    with pytest.raises(ValueError, match="revoked"):
        keys.rotate(new.record.id)


@on_every_store
def test_a_key_made_to_expire_expires(store: KeyStore) -> None:
    keys = APIKeys(store, prefix="bk_test_", clock=Clock())
    made = keys.create("alice", expires_in=10)
    verifier = keys.verifier(cache_ttl=0)
    assert verifier.verify(made.key, now=NOW + 9.99).subject == "alice"
    assert refusal(verifier, made.key, now=NOW + 10).reason == "expired"


@on_every_store
def test_a_revocation_is_seen_at_once_here_and_within_the_cache_ttl_elsewhere(stores: Stores) -> None:
    clock = Clock()
    keys = APIKeys(stores.make(), prefix="bk_test_", clock=clock)
    made = keys.create("alice")
    mine = keys.verifier(cache_ttl=60, clock=clock)
    # Another process's verifier: its own store object, on the same data (in memory: the same store).
    elsewhere_store = keys.store if stores.kind in ("memory", "sqlite-memory") else stores.make(stores.url)
    elsewhere = APIKeyVerifier(elsewhere_store, prefixes="bk_test_", cache_ttl=5, clock=clock)
    assert mine.verify(made.key).subject == "alice"
    assert elsewhere.verify(made.key).subject == "alice"
    clock.now += 1
    assert keys.revoke(made.record.id) is True
    assert refusal(mine, made.key).reason == "revoked"  # at once, though its cache holds the key for 60 s
    assert elsewhere.verify(made.key).subject == "alice"  # its entry is fresh for 4 s more
    clock.now += 4
    assert refusal(elsewhere, made.key).reason == "revoked"
    assert keys.revoke("unknown-id00") is False


def test_a_successor_ends_exactly_when_its_old_key_does_however_the_clock_moves() -> None:
    ticks = iter(NOW + n * 0.1234567 for n in range(100))  # each read of the clock a little later
    keys = APIKeys(MemoryKeyStore(), prefix="bk_test_", clock=lambda: next(ticks))
    old = keys.create("alice", expires_in=7200.7)
    new = keys.rotate(old.record.id, grace=60)
    assert new.record.expires_at == old.record.expires_at  # the same float, not one a tick later
    assert new.record.created_at < new.record.expires_at


class TakenOnce(MemoryKeyStore):
    """A memory store that answers the first ``add`` and ``rotate`` with ``error``, writing nothing."""

    def __init__(self, error: ValueError) -> None:
        super().__init__()
        self.error, self.calls = error, 0

    def add(self, record: KeyRecord) -> None:
        self.calls += 1
        if self.calls == 1:
            raise self.error
        super().add(record)

    def rotate(self, key_id: str, successor: KeyRecord, until: float) -> str | RotationRefused | None:
        self.calls += 1
        if self.calls == 3:  # (the first rotation: after two adds)
            raise self.error
        return super().rotate(key_id, successor, until)


def test_a_taken_id_is_tried_again_and_no_other_value_error_of_a_store() -> None:
    taken = TakenOnce(KeyIdTaken("key id 'x' is taken"))
    keys = APIKeys(taken, prefix="bk_test_")
    made = keys.create("alice")  # the first id was taken: a second one kept
    assert keys.rotate(made.record.id).record.id != made.record.id
    assert (taken.calls, len(keys.list())) == (4, 2)

    refusing = TakenOnce(ValueError("a key's owner is at most 255 characters in a SQL store"))
    with pytest.raises(ValueError, match="at most 255") as raised:
        APIKeys(refusing, prefix="bk_test_").create("alice")  # raised as it is, not tried three times
    assert not isinstance(raised.value, KeyIdTaken)
    assert refusing.calls == 1


def test_ids_taken_every_time_blame_the_random_source() -> None:
    class Taken(MemoryKeyStore):
        def add(self, record: KeyRecord) -> None:
            raise KeyIdTaken("taken")

    with pytest.raises(RuntimeError, match=r"^3 key ids in a row were taken"):
        APIKeys(Taken(), prefix="bk_test_").create("alice")


def test_create_for_grants_at_most_what_the_principal_has() -> None:
    keys = APIKeys(MemoryKeyStore(), prefix="bk_test_")
    user = Principal("ann", frozenset({"editor", "viewer"}), frozenset({"tasks:read"}), frozenset(), {"sub": "ann"})
    made = keys.create_for(user, name="mine", roles=["viewer"], scopes=["tasks:read"], expires_in=60)
    assert (made.record.owner, made.record.roles, made.record.scopes) == ("ann", ("viewer",), ("tasks:read",))
    with pytest.raises(PermissionDenied) as caught:
        keys.create_for(user, roles=["editor", "admin"], scopes=["tasks:read", "tasks:delete"])
    assert caught.value.status == 403
    assert caught.value.details == {"beyond": ["admin", "tasks:delete"]}
    assert [record.id for record in keys.list("ann")] == [made.record.id]  # nothing was made


def test_last_used_is_written_at_most_once_a_minute() -> None:
    store = CountingStore()
    keys = APIKeys(store, prefix="bk_test_", clock=Clock())
    made = keys.create("alice")
    verifier = keys.verifier(cache_ttl=5)
    for offset in (0.0, 1.0, 30.0, 59.9, LAST_USED_EVERY, 61.0, 119.9, 120.0, 121.0):
        verifier.verify(made.key, now=NOW + offset)
    assert store.touches == [NOW, NOW + 60, NOW + 120]
    assert store.get(made.record.id).last_used_at == NOW + 120  # type: ignore[union-attr]
    assert asyncio.run(verifier.averify(made.key, now=NOW + 180)).subject == "alice"
    assert store.touches[-1] == NOW + 180


@on_every_store
def test_last_used_reaches_every_store(store: KeyStore) -> None:
    keys = APIKeys(store, prefix="bk_test_", clock=Clock())
    made = keys.create("alice")
    verifier = keys.verifier(cache_ttl=0)
    verifier.verify(made.key, now=NOW + 5)
    verifier.verify(made.key, now=NOW + 50)
    assert store.get(made.record.id).last_used_at == NOW + 5  # type: ignore[union-attr]
    verifier.verify(made.key, now=NOW + 65)
    assert store.get(made.record.id).last_used_at == NOW + 65  # type: ignore[union-attr]


def test_an_unknown_id_and_a_wrong_secret_are_refused_alike() -> None:
    store = CountingStore()
    keys = APIKeys(store, prefix="bk_test_")
    made = keys.create("alice")
    verifier = keys.verifier()
    fmt = OpaqueFormat("bk_test_")
    wrong_secret = fmt.compose(made.record.id, bytes(range(SECRET_BYTES)))
    unknown_id = fmt.compose("Zz9Zz9Zz9Zz9", bytes(range(SECRET_BYTES)))
    one, other = refusal(verifier, wrong_secret), refusal(verifier, unknown_id)
    assert (one.reason, other.reason) == ("bad_secret", "unknown_key")  # for the log line only
    assert type(one) is type(other)
    assert str(one) == str(other)
    assert (one.status, one.code, one.message, one.headers) == (other.status, other.code, other.message, other.headers)
    reads = store.gets
    refusal(verifier, unknown_id)  # an unknown id is cached too: probing ids costs the store no more
    assert store.gets == reads


def test_a_pepper_must_be_the_same_to_verify() -> None:
    store = MemoryKeyStore()
    made = APIKeys(store, prefix="bk_test_", pepper="a-server-side-pepper!").create("alice")
    assert APIKeyVerifier(store, pepper="a-server-side-pepper!").verify(made.key).subject == "alice"
    assert refusal(APIKeyVerifier(store), made.key).reason == "bad_secret"


def test_a_key_of_another_prefix_is_malformed_here() -> None:
    store = MemoryKeyStore()
    made = APIKeys(store, prefix="bk_test_").create("alice")
    assert refusal(APIKeyVerifier(store, prefixes="bk_live_"), made.key).reason == "malformed"
    assert APIKeyVerifier(store).verify(made.key).subject == "alice"  # both default prefixes


# The format: the checksum refuses a mistyped or truncated key before any store is asked.
KEYS = st.builds(
    lambda id_random, secret: OpaqueFormat("bk_test_").compose(id_random, secret),
    st.binary(min_size=9, max_size=9),
    st.binary(min_size=SECRET_BYTES, max_size=SECRET_BYTES),
)
STORE = CountingStore()
VERIFIER = APIKeyVerifier(STORE, prefixes="bk_test_")
ANY_CHAR = st.sampled_from(ALPHABET + string.punctuation + " \t\n") | st.characters()


def refused_before_the_store(changed: str) -> None:
    reads = STORE.gets
    reason = refusal(VERIFIER, changed).reason
    assert reason in ("malformed", "bad_checksum")
    assert STORE.gets == reads


@settings(max_examples=300)
@given(KEYS, st.data())
def test_any_one_character_changed_is_refused_before_the_store(key: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(key) - 1))
    replacement = data.draw(ANY_CHAR.filter(lambda ch: ch != key[position]))
    refused_before_the_store(key[:position] + replacement + key[position + 1 :])


@settings(max_examples=200)
@given(KEYS, st.data())
def test_any_truncation_insertion_or_deletion_is_refused_before_the_store(key: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(key) - 1))
    refused_before_the_store(key[:position])
    refused_before_the_store(key[:position] + key[position + 1 :])
    refused_before_the_store(key[:position] + data.draw(ANY_CHAR) + key[position:])


PREFIXES = st.from_regex(r"[a-z][a-z0-9]{0,8}(_[a-z0-9]{1,8}){0,2}_", fullmatch=True)


@given(
    PREFIXES,
    st.integers(8, 32),
    st.binary(min_size=24, max_size=24),
    st.binary(min_size=SECRET_BYTES, max_size=SECRET_BYTES),
)
def test_compose_and_parse_round_trip(prefix: str, id_chars: int, id_random: bytes, secret: bytes) -> None:
    fmt = OpaqueFormat(prefix, id_chars)
    key = fmt.compose(id_random, secret)
    parsed = fmt.parse(key)
    assert not isinstance(parsed, str)
    assert len(key) == fmt.length == len(prefix) + id_chars + 1 + SECRET_CHARS + CHECK_CHARS
    assert parsed.id == fmt.new_id(id_random)
    assert (parsed.body, parsed.check) == (key[:-CHECK_CHARS], key[-CHECK_CHARS:])
    assert parsed.check == check_digits(parsed.body)
    assert fmt.compose(parsed.id, secret) == key  # the id given as text makes the same key
    assert int.from_bytes(secret, "big") == b62_value(key[len(prefix) + id_chars + 1 : -CHECK_CHARS])


def b62_value(text: str) -> int:
    value = 0
    for ch in text:
        value = value * 62 + ALPHABET.index(ch)
    return value


@given(st.integers(1, 50).flatmap(lambda width: st.tuples(st.just(width), st.integers(0, 62**width - 1))))
def test_b62_round_trips_at_its_width(case: tuple[int, int]) -> None:
    width, number = case
    text = b62(number, width)
    assert len(text) == width
    assert b62_value(text) == number
    with pytest.raises(ValueError, match="fit"):
        b62(62**width + number, width)


def test_the_secret_holds_256_bits() -> None:
    assert len(b62(2**256 - 1, SECRET_CHARS)) == SECRET_CHARS
    assert len(check_digits("x" * 100)) == CHECK_CHARS
