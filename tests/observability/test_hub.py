"""The hub: nothing built when nothing observes, a failing observer never fails a request, observe() undoes itself."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import typing
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest

from backendkit.auth import BearerAuth, HMACKey, InvalidToken, JWTVerifier, issue, require
from backendkit.errors import ConfigurationError
from backendkit.health import Health
from backendkit.idempotency import Idempotency, KeyedRequest, MemoryStore
from backendkit.observability import Event, RequestEnd, RequestStart, observe
from backendkit.observability._core.events import PageServed
from backendkit.observability._hub import hub
from backendkit.pagination._read import read_page_request
from backendkit.ratelimit import Limit, RequestInfo
from backendkit.stores import Breaker
from tests.observability.apps import PAGES
from tests.observability.clients import FRAMEWORKS, client
from tests.support.observing import RecordingObserver

EVENT_TYPES = typing.get_args(Event)
KEY = HMACKey("observability-tests-hs256-secret-of-32-bytes")


@contextmanager
def constructions() -> Iterator[Counter[str]]:
    """Counts the events and request ends built, in every thread, while the block runs."""
    built: Counter[str] = Counter()
    kinds = (*EVENT_TYPES, RequestStart, RequestEnd)

    def profile(frame: FrameType, what: str, arg: object) -> None:
        if what == "call" and frame.f_code.co_name == "__init__":
            made = frame.f_locals.get("self")
            if isinstance(made, kinds):
                built[type(made).__name__] += 1

    threading.setprofile(profile)  # type: ignore[arg-type]
    sys.setprofile(profile)  # type: ignore[arg-type]
    try:
        yield built
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]


def drive_every_piece() -> None:
    """One decision of each piece, through its own code."""
    info = RequestInfo(method="GET", path="/x", peer="192.0.2.1", headers=lambda name: [], native=None)
    Limit("1/minute").check(info, per_route=False)
    auth = BearerAuth(JWTVerifier([KEY]))
    principal = auth.authenticate("Bearer " + issue(KEY, "u1"))
    with pytest.raises(InvalidToken):
        auth.authenticate("Bearer not-a-token")
    auth.authorize(require(), principal, {})
    read_page_request(PAGES, b"page=2&per_page=5", path="/pages")
    keys = Idempotency(MemoryStore())
    attempt = keys.start(KeyedRequest("POST", "/x", "", None, b"", ["k-1"]))
    assert attempt is not None
    keys.finish(attempt, 201, [], b"{}")  # type: ignore[arg-type]
    probes = Health()
    probes.add("ok", lambda: True)
    probes.report("ready")
    breaker = Breaker(1.0, logger="tests", what="a store", store="ratelimit")
    breaker.failed(OSError("down"), "failing open")
    breaker.answered()


def test_with_no_observer_no_event_is_built() -> None:
    assert hub.observers == ()
    with constructions() as built, client("flask") as send:
        drive_every_piece()
        assert send("GET", "/items/1") == 200
        assert send("GET", "/pages?page=1") == 200
    assert built == Counter()


def test_with_an_observer_every_piece_builds_its_events() -> None:
    seen = RecordingObserver()
    with constructions() as built, observe(seen), client("flask") as send:
        drive_every_piece()
        assert send("GET", "/items/1") == 200
    assert {
        "RateLimitDecided",
        "TokenVerified",
        "AccessGuarded",
        "PageServed",
        "IdempotencyBegun",
        "IdempotencyFinished",
        "HealthChecked",
        "HealthReported",
        "StoreFailed",
        "BreakerChanged",
        "RequestStart",
        "RequestEnd",
    } <= set(built)
    assert len(seen.events) == sum(n for kind, n in built.items() if kind not in ("RequestStart", "RequestEnd"))


class Failing:
    """An observer that raises everywhere."""

    def request_started(self, start: RequestStart) -> object:
        raise RuntimeError("started")

    def request_finished(self, token: object, end: RequestEnd) -> None:
        raise ValueError("finished")

    def record(self, event: Event) -> None:
        raise KeyError("record")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_failing_observer_is_logged_once_and_fails_no_request(
    framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen = RecordingObserver()
    logged = caplog.at_level(logging.ERROR, "backendkit.observability")
    with client(framework) as send, observe(Failing(), seen), logged:
        for _ in range(3):
            assert send("GET", "/items/1") == 200
            assert send("GET", "/pages?page=2") == 200
    assert len(seen.starts) == len(seen.ends) == 6
    assert len(seen.events) == 3  # the other observer was told everything
    failures = [r for r in caplog.records if r.name == "backendkit.observability"]
    assert sorted(r.getMessage().rsplit(" in ", 1)[1] for r in failures) == [
        "record; it is skipped for this event",
        "request_finished; it is skipped for this event",
        "request_started; it is skipped for this event",
    ]
    assert all(r.exc_info is not None for r in failures)


def test_each_installation_of_a_failing_observer_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """Once per installation: the hub forgets its complaints when observers change (it kept ids for ever,
    and a new observer given a dead one's id was never logged)."""
    failing = Failing()
    with caplog.at_level(logging.ERROR, "backendkit.observability"):
        for _ in range(2):
            with observe(failing):
                hub.emit(PageServed("page"))
                hub.emit(PageServed("offset"))
    assert len([r for r in caplog.records if r.name == "backendkit.observability"]) == 2


def test_observe_restores_what_was_installed_before() -> None:
    first, second = RecordingObserver(), RecordingObserver()
    assert (hub.observers, hub.probes) == ((), False)
    default_exclude = hub.exclude_paths
    with observe(first, exclude_paths=["/a"]):
        with observe(second, probes=True):
            assert (hub.observers, hub.probes) == ((second,), True)
            assert hub.exclude_paths == frozenset()
            assert not hub.excluded("/livez")  # probes are observed now
        assert hub.excluded("/livez")  # left out again, as by default
        assert hub.excluded("/a")
        assert (hub.observers, hub.exclude_paths, hub.probes) == ((first,), frozenset({"/a"}), False)
    assert (hub.observers, hub.exclude_paths, hub.probes) == ((), default_exclude, False)
    observation = observe(first)
    observation.close()
    assert hub.observers == ()


@pytest.mark.parametrize("wrong", [object(), "prometheus", None, RecordingObserver], ids=repr)
def test_observe_refuses_what_is_not_an_observer(wrong: object) -> None:
    with pytest.raises(ConfigurationError, match="observers"):
        observe(RecordingObserver(), wrong)  # type: ignore[arg-type]
    assert hub.observers == ()


def test_observe_refuses_one_string_of_paths() -> None:
    with pytest.raises(ConfigurationError, match="exclude_paths"):
        observe(RecordingObserver(), exclude_paths="/livez")
    assert hub.observers == ()


def test_events_reach_an_observer_from_async_code_too() -> None:
    seen = RecordingObserver()

    async def main() -> None:
        info = RequestInfo(method="GET", path="/x", peer="192.0.2.1", headers=lambda name: [], native=None)
        await Limit("1/minute").acheck(info, per_route=False)

    with observe(seen):
        asyncio.run(main())
    assert [type(e).__name__ for e in seen.events] == ["RateLimitDecided"]
