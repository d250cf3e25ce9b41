"""HealthChecked per check run, with the status its report gives it; HealthReported per probe answered."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from backendkit.health import Health, Result
from backendkit.observability import observe
from backendkit.observability._core.events import HealthChecked, HealthReported
from tests.observability.clients import FRAMEWORKS, client
from tests.support.observing import RecordingObserver

TIMEOUT = 0.1


@pytest.fixture
def seen() -> Iterator[RecordingObserver]:
    observer = RecordingObserver()
    with observe(observer):
        yield observer


def health(release: threading.Event) -> Health:
    probes = Health(interval=0)
    probes.add("passes", lambda: True)
    probes.add("warns", lambda: Result.warn("backlog"), critical=True)
    probes.add("fails", lambda: False, critical=False)

    def raises() -> bool:
        raise RuntimeError("boom")

    probes.add("raises", raises, critical=False)
    probes.add("hangs", lambda: release.wait(5), timeout=TIMEOUT, critical=False)

    async def ahangs() -> bool:
        await asyncio.sleep(5)
        return True

    probes.add("ahangs", ahangs, timeout=TIMEOUT, critical=False)
    return probes


EXPECTED = {"passes": "pass", "warns": "warn", "fails": "fail", "raises": "fail", "hangs": "fail", "ahangs": "fail"}


def checked(seen: RecordingObserver) -> dict[str, str]:
    events = seen.of(HealthChecked)
    assert len(events) == len({e.check for e in events})  # one event per check per run
    return {e.check: e.status for e in events}


def test_each_check_tells_the_status_of_its_report_from_sync_code(seen: RecordingObserver) -> None:
    release = threading.Event()
    probes = health(release)
    try:
        report = probes.report("ready")
    finally:
        release.set()
    assert {o.check.name: o.result.status for o in report.outcomes} == EXPECTED
    assert checked(seen) == EXPECTED  # a timed-out check is the fail its report says, not a late pass
    time.sleep(0.05)  # the released thread's check returns now: it tells nothing more
    assert checked(seen) == EXPECTED
    for event in seen.of(HealthChecked):
        assert 0 < event.duration < 1
        if event.check in ("hangs", "ahangs"):
            assert event.duration >= TIMEOUT
    assert seen.of(HealthReported) == [HealthReported("ready", report.status)]


def test_each_check_tells_the_status_of_its_report_from_async_code(seen: RecordingObserver) -> None:
    release = threading.Event()
    probes = health(release)
    try:
        report = asyncio.run(probes.areport("ready"))
    finally:
        release.set()
    assert checked(seen) == EXPECTED
    assert seen.of(HealthReported) == [HealthReported("ready", report.status)]


def test_a_cached_report_runs_no_check(seen: RecordingObserver) -> None:
    probes = Health(interval=60)
    probes.add("passes", lambda: True)
    probes.report("ready")
    probes.report("ready")
    probes.report("live")
    assert [e.check for e in seen.of(HealthChecked)] == ["passes"]
    assert [(e.probe, e.status) for e in seen.of(HealthReported)] == [
        ("ready", "pass"),
        ("ready", "pass"),
        ("live", "pass"),
    ]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_probe_reports_through_each_framework(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen):
        for path in ("/livez", "/readyz", "/startupz", "/healthz", "/probe/ready"):
            assert send("GET", path) == 200
    assert [(e.probe, e.status) for e in seen.of(HealthReported)] == [
        ("live", "pass"),
        ("ready", "pass"),
        ("startup", "pass"),
        ("healthz", "pass"),
        ("ready", "pass"),
    ]
