"""Single flight: the cached report, and the run in flight that every probe of the process shares.

Sync views (threads), async views (a loop, or a loop per thread with
``async_to_sync``) and a WSGI server's threads all wait for the same run, so a
second run never meets the first's checks and reads "still running".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future

from backendkit.health._core.report import Report
from backendkit.health._core.run import GRACE


class SingleFlight:
    """One run at a time for the whole process, and its report reused for ``interval`` seconds.

    Args:
        clock: Monotonic seconds (the cache's age, and how long a run has been in flight).
        interval: Seconds a report is reused.
        deadline: Seconds a run may take; a probe waits ``deadline`` + 0.5 s for one in flight.
    """

    def __init__(self, clock: Callable[[], float], interval: float, deadline: float) -> None:
        self._clock = clock
        self._interval = interval
        self.patience = deadline + GRACE
        self._lock = threading.Lock()
        self._cached: tuple[float, Report] | None = None
        # The run in flight, and when it began.
        self._inflight: tuple[float, Future[Report]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # the async runs (a reference, so they are not collected)

    def fresh(self) -> Report | None:
        """The cached report, while it is younger than the interval."""
        cached = self._cached
        if cached is not None and self._clock() - cached[0] < self._interval:
            return cached[1]
        return None

    def keep(self, report: Report) -> Report:
        """Cache ``report`` from now."""
        self._cached = (self._clock(), report)
        return report

    def claim(self, early: Callable[[], Report | None]) -> tuple[Report | None, Future[Report], bool]:
        """An early report, or the run in flight to wait for, or a new run that this caller makes (``True``)."""
        report = early()  # (without the lock first: a cached report is what most probes get)
        if report is not None:
            return report, _NO_RUN, False
        with self._lock:
            report = early()
            inflight = self._inflight
            if report is not None or (
                inflight and not inflight[1].done() and self._clock() - inflight[0] < self.patience
            ):
                # (a run older than the deadline allows was abandoned with its loop: start another)
                return report, inflight[1] if inflight else _NO_RUN, False
            future: Future[Report] = Future()
            self._inflight = (self._clock(), future)
            return None, future, True

    def run(self, future: Future[Report], make: Callable[[], Report]) -> Report:
        """Make the report of the run this caller claimed, and answer the probes waiting for it."""
        report = still_running()
        try:
            report = make()
        finally:
            future.set_result(report)
        return report

    def start(self, future: Future[Report], make: Callable[[], Awaitable[Report]]) -> None:
        """:meth:`run` as a task of the running loop: a probe that gives up leaves the run to the others."""
        task = asyncio.get_running_loop().create_task(self._arun(future, make))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def result(self, future: Future[Report]) -> Report:
        """The report of the run in flight, from sync code."""
        try:
            return future.result(timeout=self.patience)
        except concurrent.futures.TimeoutError:
            return still_running()

    async def aresult(self, future: Future[Report]) -> Report:
        """The report of the run in flight, from async code."""
        # shield: a probe that gives up (its client went away) leaves the run to the others
        waited = asyncio.shield(asyncio.wrap_future(future))
        try:
            return await asyncio.wait_for(waited, self.patience)
        except asyncio.TimeoutError:
            return still_running()

    async def _arun(self, future: Future[Report], make: Callable[[], Awaitable[Report]]) -> None:
        report = still_running()
        try:
            report = await make()
        finally:  # cancelled with its loop, the run still answers the probes waiting for it
            future.set_result(report)


def still_running() -> Report:
    """The answer of a probe that waited for a run in flight elsewhere longer than the deadline allows."""
    return Report("fail", notes={"checks": "a run of the checks is still in flight elsewhere"})


_NO_RUN: Future[Report] = Future()  # (with a report at hand: nothing to wait for)

__all__ = ["SingleFlight", "still_running"]
