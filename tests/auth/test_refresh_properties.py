"""Properties of the refresh-token core, and every store held to it step by step.

- ``seal``/``unseal``: a round trip; any byte changed, or another token's key, opens nothing.
- A state machine drives random stories (logins, rotations with the live, the
  previous, an older, a forged or a foreign token, time passing, logouts) through
  the memory store, the reference, and a second store in lockstep: every answer,
  family included, must be equal; and the invariants hold on the way: at most one
  live token per family (only the token issued last rotates), a revoked family
  stays revoked with its first revocation time, and a retry changes nothing.
"""

from __future__ import annotations

import string
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from backendkit.auth import MemoryRefreshStore, RefreshPolicy
from backendkit.auth._core.refresh import Family, Outcome, Rotation, seal, unseal
from tests.auth.refresh_support import KINDS, close_store, open_store

BODIES = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=80)
NONCES = st.binary(min_size=16, max_size=16)


@given(BODIES, BODIES, NONCES)
def test_seal_round_trip(spent: str, successor: str, nonce: bytes) -> None:
    sealed = seal(spent, successor, nonce)
    assert unseal(spent, sealed) == successor
    if len(successor) >= 16:  # not in the clear (a chance of 2**-128 that it would be)
        assert successor.encode("ascii").hex() not in sealed


@given(BODIES, BODIES, NONCES, st.data())
def test_any_changed_byte_opens_nothing(spent: str, successor: str, nonce: bytes, data: st.DataObject) -> None:
    raw = bytearray(bytes.fromhex(seal(spent, successor, nonce)))
    where = data.draw(st.integers(0, len(raw) - 1), label="byte")
    raw[where] ^= data.draw(st.integers(1, 255), label="flip")
    assert unseal(spent, raw.hex()) is None


@given(BODIES, BODIES, BODIES, NONCES)
def test_another_tokens_key_opens_nothing(spent: str, other: str, successor: str, nonce: bytes) -> None:
    if other != spent:
        assert unseal(other, seal(spent, successor, nonce)) is None


@given(BODIES, BODIES, NONCES, st.integers(0, 200))
def test_a_cut_or_garbled_seal_opens_nothing(spent: str, successor: str, nonce: bytes, keep: int) -> None:
    sealed = seal(spent, successor, nonce)
    if keep < len(sealed):
        assert unseal(spent, sealed[:keep]) is None
    assert unseal(spent, sealed + "00") is None
    assert unseal(spent, "zz" + sealed[2:]) is None


POLICY = RefreshPolicy(idle=100, lifetime=300, reuse_window=10)
START = 1_800_000_000.0
SUBJECTS = ("alice", "bob")


class Lockstep(RuleBasedStateMachine):
    """The memory store and another, asked the same things; ``other`` is set by the test."""

    other: Any

    def __init__(self) -> None:
        super().__init__()
        self.stores = [MemoryRefreshStore(), self.other]
        self.run = uuid.uuid4().hex[:8]
        self.subjects = [f"{subject}-{self.run}" for subject in SUBJECTS]
        self.now = START
        self.counter = 0
        self.tokens: dict[str, list[str]] = {}  # each family's token digests, issued in turn
        self.revoked: dict[str, float] = {}  # the families seen revoked, and when
        self.last: dict[str, Family] = {}  # each family kept, as last answered
        self.created: dict[str, set[str]] = {subject: set() for subject in self.subjects}

    def _fresh(self, what: str) -> str:
        self.counter += 1
        return f"{what}-{self.run}-{self.counter}"

    def _family_id(self) -> str:
        return f"F{self.run}{self.counter:013d}"[:22]

    def _rotation(self) -> Rotation:
        issued = int(self.now)
        return Rotation(self._fresh("digest"), self._fresh("sealed"), (self._fresh("jti"), issued, issued + 50))

    @initialize()
    def start(self) -> None:
        self.login(0)

    @rule(which=st.sampled_from(range(len(SUBJECTS))))
    def login(self, which: int) -> None:
        subject = self.subjects[which]
        # The memory store forgets the families ended by now when a new one comes (the others too, or Redis
        # by its own clock, later): what a store answers for a forgotten family is its housekeeping's.
        for family_id in [fid for fid, family in self.last.items() if family.created_at + POLICY.lifetime <= self.now]:
            del self.tokens[family_id], self.last[family_id]
        self.counter += 1
        family_id = self._family_id()
        current = self._fresh("digest")
        issued = int(self.now)
        family = Family(
            family_id,
            subject,
            claims={"roles": ["viewer"], "n": 0.1},
            created_at=self.now,
            last_used_at=self.now,
            current=current,
            access=((self._fresh("jti"), issued, issued + 50),),
        )
        for store in self.stores:
            store.create(family, POLICY)
        self.tokens[family_id] = [current]
        self.last[family_id] = family
        self.created[subject].add(family_id)

    # Mostly short steps (within the window, the idle time), now and then a long one (past both).
    @rule(seconds=st.sampled_from([0.0, 0.5, 3.0, 9.75, 10.0, 10.25, 0.0, 3.0, 15.0, 40.0, 99.0, 120.0]))
    def wait(self, seconds: float) -> None:
        self.now += seconds

    @precondition(lambda self: self.tokens)
    @rule(data=st.data(), which=st.sampled_from(["live", "previous", "older", "live", "previous", "forged", "foreign"]))
    def present(self, data: st.DataObject, which: str) -> None:
        family_id = data.draw(st.sampled_from(sorted(self.tokens)), label="family")
        issued = self.tokens[family_id]
        if which == "live":
            presented = issued[-1]
        elif which == "previous":
            presented = issued[-2] if len(issued) > 1 else issued[-1]
        elif which == "older":
            presented = data.draw(st.sampled_from(issued), label="older")
        elif which == "forged":
            presented = self._fresh("forged")
        else:  # a token of another family, under this family's id
            others = [d for fid, ds in self.tokens.items() if fid != family_id for d in ds]
            presented = data.draw(st.sampled_from(others), label="foreign") if others else self._fresh("none")
        rotation = self._rotation()
        outcomes: list[Outcome] = [s.rotate(family_id, presented, rotation, self.now, POLICY) for s in self.stores]
        reference = outcomes[0]
        event(f"{which}: {reference.kind}")
        assert all(outcome == reference for outcome in outcomes[1:]), outcomes
        before = self.last[family_id]
        if reference.kind == "rotated":  # at most one live token: only the one issued last rotates
            assert presented == issued[-1]
            assert reference.family is not None
            assert reference.family.current == rotation.digest
            assert reference.family.generation == before.generation + 1
            issued.append(rotation.digest)
        if reference.kind == "retry":  # the answer the first use got, nothing written
            assert reference.family == before
            assert presented == before.previous
        if reference.kind == "unknown":
            assert presented not in issued
        if family_id in self.revoked:  # a revoked family stays revoked, with its first revocation time
            assert reference.kind == "revoked"
            assert reference.family is not None
            assert reference.family.revoked_at == self.revoked[family_id]
        if reference.family is not None:
            self.last[family_id] = reference.family
            if reference.family.revoked_at is not None:
                self.revoked.setdefault(family_id, reference.family.revoked_at)

    @precondition(lambda self: self.tokens)
    @rule(data=st.data(), chance=st.integers(0, 3))
    def logout(self, data: st.DataObject, chance: int) -> None:
        if chance:  # a logout one time in four: the stories that go on are the interesting ones
            return
        family_id = data.draw(st.sampled_from(sorted(self.tokens)), label="family")
        answers = [store.revoke(family_id, self.now, POLICY) for store in self.stores]
        assert all(answer == answers[0] for answer in answers[1:]), answers
        family = answers[0]
        assert family is not None
        assert family.revoked_at is not None
        assert family.sealed is None
        assert family.revoked_at == self.revoked.setdefault(family_id, family.revoked_at)
        self.last[family_id] = family

    @invariant()
    def same_families(self) -> None:
        for family_id in self.tokens:
            kept = [store.get(family_id) for store in self.stores]
            assert all(family == kept[0] for family in kept[1:]), kept
        for subject in self.subjects:
            # Every family kept is listed; an ended one may be too, until its store's housekeeping.
            kept_ids = {fid for fid, family in self.last.items() if family.subject == subject}
            for store in self.stores:
                listed = set(store.families(subject))
                assert kept_ids <= listed <= self.created[subject], (store, listed)


@pytest.mark.parametrize("kind", KINDS)
def test_every_store_answers_as_the_memory_store(kind: str, request: pytest.FixtureRequest) -> None:
    other = open_store(kind, request)
    machine = type("LockstepOn" + kind.title(), (Lockstep,), {"other": other})
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples={"memory": 60, "postgres": 15}.get(kind, 25),
                stateful_step_count=40,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        close_store(other)
