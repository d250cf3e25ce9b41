"""The two runners agree: a check that overruns is cut at its timeout, on the injected clock, the same way."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.health import STILL_RUNNING, TIMED_OUT, CheckInfo, Health, Result
from backendkit.health._core.run import Answer, Entry, Run

EPOCH = 1_700_000_000.0


class Clock:
    """Monotonic seconds that move only when a check says it took time; the wall clock follows."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now


def _probe(health: Health, runner: str) -> Any:
    return health.ready() if runner == "sync" else asyncio.run(health.aready())


def _check(clock: Clock, kind: str, took: float, release: threading.Event | None) -> Callable[[], Any]:
    """A check that takes ``took`` seconds by the clock, then answers (or, given ``release``, hangs)."""

    def sync_check() -> Result:
        clock.now += took
        if release is not None:
            release.wait(10)
        return Result.ok()

    async def async_check() -> Result:
        clock.now += took
        if release is not None:
            await asyncio.sleep(10)  # cancelled at the timeout
        return Result.ok()

    return sync_check if kind == "sync" else async_check


@pytest.mark.parametrize("hangs", [False, True], ids=["answers-late", "hangs"])
def test_sync_and_async_checks_that_overrun_report_the_same_outcome_at_the_same_time(hangs: bool) -> None:
    bodies = {}
    for kind in ("sync", "async"):
        for runner in ("sync", "async"):
            clock, release = Clock(), threading.Event() if hangs else None
            health = Health(interval=0, clock=clock, wall_clock=clock.wall)
            health.add("db:ping", _check(clock, kind, took=5.0, release=release), timeout=0.5)
            report = _probe(health, runner)
            if release is not None:
                release.set()  # (a sync check's thread ran on after the report: it ends now)
            [outcome] = report.outcomes
            assert (outcome.result.status, outcome.result.output, outcome.at) == ("fail", TIMED_OUT, EPOCH + 105)
            bodies[kind, runner] = report.body(verbose=True)
    assert len({repr(body) for body in bodies.values()}) == 1, bodies


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("runner", ["sync", "async"])
def test_the_timeout_and_the_deadline_are_read_on_the_injected_clock(kind: str, runner: str) -> None:
    clock = Clock()
    health = Health(interval=0, deadline=1.0, clock=clock, wall_clock=clock.wall)
    health.add("quick:ping", _check(clock, kind, took=0.4, release=None), timeout=0.5)  # in time, by the clock
    report = _probe(health, runner)
    assert [(o.result.status, o.at) for o in report.outcomes] == [("pass", EPOCH + 100.4)]
    health.add("patient:ping", _check(clock, kind, took=1.5, release=None), timeout=3.0)  # past the deadline
    report = _probe(health, runner)
    assert {o.check.name: o.result.output for o in report.outcomes} == {"quick:ping": None, "patient:ping": TIMED_OUT}


def test_a_sync_check_cut_at_its_timeout_keeps_its_thread_and_is_not_started_again() -> None:
    clock, release, calls = Clock(), threading.Event(), []
    health = Health(interval=0, clock=clock, wall_clock=clock.wall)
    check = _check(clock, "sync", took=5.0, release=release)
    health.add("db:ping", lambda: calls.append(1) or check(), timeout=0.5)
    assert [o.result.output for o in health.ready().outcomes] == [TIMED_OUT]  # answered while the check runs on
    assert [o.result.output for o in asyncio.run(health.aready()).outcomes] == [STILL_RUNNING]
    assert calls == [1]
    release.set()


def test_concurrent_first_use_makes_one_thread_pool_and_one_background_loop() -> None:
    runner = Health()._runner
    barrier = threading.Barrier(16, timeout=10)

    def first_use(_: int) -> tuple[object, object]:
        barrier.wait()  # all sixteen ask at once
        return runner.executor(), runner.loop()

    with concurrent.futures.ThreadPoolExecutor(16) as threads:
        made = list(threads.map(first_use, range(16)))
    assert len(made) == 16
    assert len({id(pool) for pool, _ in made}) == 1
    assert len({id(loop) for _, loop in made}) == 1


@dataclass
class Answered:
    """An attempt that has answered (the two runners' futures, reduced to what :class:`Run` reads)."""

    answer: Answer | None = None

    def done(self) -> bool:
        return self.answer is not None

    def cancelled(self) -> bool:
        return False

    def cancel(self) -> bool:
        return False

    def result(self) -> Answer:
        assert self.answer is not None
        return self.answer


@given(
    deadline=st.floats(0.1, 10),
    checks=st.lists(st.tuples(st.floats(0.1, 10), st.none() | st.floats(0, 20)), min_size=1, max_size=6),
)
def test_a_check_passes_only_when_its_answer_came_by_its_timeout_and_the_deadline(
    deadline: float, checks: list[tuple[float, float | None]]
) -> None:
    entries = [
        Entry(CheckInfo(f"c{i}:ping", timeout=timeout), lambda: None, False) for i, (timeout, _) in enumerate(checks)
    ]
    run = Run(entries, 0.0, deadline)
    attempts = {entry: Answered() for entry in entries}
    now, waits = 0.0, 0
    while (wait := run.settle(attempts, now)) is not None:
        assert wait > 0
        now += wait  # nothing answers early: the runner wakes at the next due time...
        for entry, (_, took) in zip(entries, checks, strict=True):
            if took is not None and took <= now and not attempts[entry].done():
                attempts[entry].answer = (Result.ok(), took)  # ...and finds what answered meanwhile
        waits += 1
        assert waits <= len(entries)
    outcomes = run.outcomes(EPOCH)
    for outcome, (timeout, took) in zip(outcomes, checks, strict=True):
        in_time = took is not None and took <= min(timeout, deadline)
        assert outcome.result.status == ("pass" if in_time else "fail")
