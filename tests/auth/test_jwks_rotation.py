"""A key an issuer rotates in is accepted within one cooldown, however often clients retry it.

Issue 19 §2: every miss used to renew the negative-cache entry of its kid, those
answered from the cache included, so a client retrying a newly published kid more
often than every 30 s kept it "absent" for ever (one fetch in 200 s of retries
every 5 s). The first miss of a kid now starts its entry, and nothing but a fetch
(which clears them all) or its end moves it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.auth import InvalidToken
from backendkit.auth._core.jwks import CachePolicy, CacheState, Need, need, remember_absent
from backendkit.auth.jwks import JWKSClient
from tests.auth.jwks_server import JWKSServer, jwks_server
from tests.auth.test_jwks import Clock, rsa_signer

COOLDOWN = 30.0


def _accepted(client: JWKSClient, kid: str) -> bool:
    """Whether ``kid`` is found; refused, it must be as unknown (never keys_unavailable here)."""
    try:
        client.select(kid, "RS256")
    except InvalidToken as exc:
        reason = exc.reason
    else:
        return True
    assert reason == "unknown_kid"
    return False


def test_a_miss_answered_from_the_negative_cache_does_not_extend_it() -> None:
    policy = CachePolicy()
    absent = remember_absent({}, "b", 0.0, policy)
    assert absent == {"b": 30.0}
    assert remember_absent(absent, "b", 25.0, policy) is absent  # the same entry, not renewed
    state = CacheState(keys={}, expires_at=300.0, retry_at=30.0)
    assert need(state, "b", 29.9, absent["b"]) is Need.NOTHING
    assert need(state, "b", 30.0, absent["b"]) is Need.FETCH  # a cooldown after the first miss
    assert remember_absent(absent, "b", 31.0, policy) == {"b": 61.0}  # an expired entry starts again


def test_the_negative_cache_keeps_its_newest_kids_up_to_its_size() -> None:
    policy = CachePolicy()
    absent: dict[str, float] = {}
    for i in range(5):
        absent = remember_absent(absent, f"k{i}", float(i), policy, size=3)
    assert list(absent) == ["k2", "k3", "k4"]
    assert remember_absent(absent, "k9", 40.0, policy, size=3) == {"k9": 70.0}  # the expired ones went first
    assert remember_absent({}, "k", 0.0, CachePolicy(negative_ttl=0)) == {}


@pytest.fixture(scope="module")
def server() -> Iterator[JWKSServer]:
    with jwks_server() as running:
        yield running


def test_a_rotated_kid_retried_every_5_s_is_accepted_within_one_cooldown(server: JWKSServer) -> None:
    # The reproduction: a set with kid a, kid b published, b asked for every 5 s for 200 s.
    a, b = rsa_signer("rotation-a"), rsa_signer("rotation-b")
    server.jwks = {"keys": [a.jwk()]}
    clock = Clock()
    client = JWKSClient(server.url, clock=clock, timeout=1.0)
    client.select("rotation-a", "RS256")
    fetched = server.requests()
    server.jwks = {"keys": [a.jwk(), b.jwk()]}
    first_miss = clock.now
    accepted_at = None
    while clock.now - first_miss <= 200:
        if _accepted(client, "rotation-b"):
            accepted_at = clock.now
            break
        clock.advance(5)
    assert accepted_at is not None, f"never accepted in 200 s ({server.requests() - fetched} fetches)"
    assert accepted_at - first_miss <= COOLDOWN
    assert server.requests() - fetched == 1


@settings(max_examples=60, deadline=None)
@given(
    published_after=st.floats(0, 120),
    retries=st.lists(st.floats(0.01, 45), min_size=1, max_size=40),
    noise=st.lists(st.tuples(st.floats(0.01, 20), st.integers(0, 2**32)), max_size=30),
)
def test_any_retry_schedule_gets_the_new_kid_within_a_cooldown_and_fetches_at_most_once_per_cooldown(
    server: JWKSServer, published_after: float, retries: list[float], noise: list[tuple[float, int]]
) -> None:
    """Clients retry kid b at any intervals while forged kids arrive in between.

    Once b is published, every attempt a cooldown or more after its first miss is
    accepted; and fetches are at least a cooldown apart, whatever the kids.
    """
    a, b = rsa_signer("rotation-a"), rsa_signer("rotation-b")
    server.jwks = {"keys": [a.jwk()]}
    clock = Clock()
    start = clock.now
    client = JWKSClient(server.url, clock=clock, timeout=1.0)
    # Both schedules as one timeline of (time, kid), in order.
    events: list[tuple[float, str]] = []
    at = start
    for gap in retries:
        at += gap
        events.append((at, "rotation-b"))
    at = start
    for gap, seed in noise:
        at += gap
        events.append((at, f"forged-{seed:08x}"))
    events.sort()
    base = server.requests()
    fetches: list[float] = []
    published = False
    first_miss = math.inf
    client.select("rotation-a", "RS256")
    fetches.append(clock.now)
    for when, kid in events:
        clock.now = when
        if not published and when - start >= published_after:
            server.jwks = {"keys": [a.jwk(), b.jwk()]}
            published = True
        before = server.requests()
        accepted = _accepted(client, kid)
        if server.requests() > before:
            fetches.append(when)
        if kid == "rotation-b" and published:
            first_miss = min(first_miss, when) if not accepted else first_miss
            if when - first_miss >= COOLDOWN:
                assert accepted, f"b refused {when - first_miss:.1f} s after its first miss"
        if kid != "rotation-b":
            assert not accepted
    assert server.requests() - base == len(fetches)
    assert all(later - earlier >= COOLDOWN for earlier, later in itertools.pairwise(fetches))
