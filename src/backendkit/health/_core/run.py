"""One run of the checks, decided step by step: who starts, who is late, what each check reports.

Pure: the time is passed in, and a check's attempt is anything with the few methods
both :class:`concurrent.futures.Future` and :class:`asyncio.Future` have. The sync
and the async runner (:mod:`backendkit.health._runner`) only start the attempts and
wait; every decision (the due times, a timeout, a late answer, a check still
running from an earlier run) is taken here, once, for both.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from backendkit.health._core.report import STILL_RUNNING, TIMED_OUT, CheckInfo, Outcome, Result

CheckFunction = Callable[[], Any] | Callable[[], Awaitable[Any]]
GRACE = 0.5  # seconds a probe waits past the deadline for a run in flight elsewhere before it answers fail
Answer = tuple[Result, float]  # what an attempt returns: the result, and when (on the runner's clock) it was had


class Attempt(Protocol):
    """A check started on a thread or a loop: a future of its :data:`Answer`."""

    def done(self) -> bool: ...

    def cancelled(self) -> bool: ...

    def cancel(self) -> bool: ...

    def result(self) -> Answer: ...


@dataclass(eq=False)
class Entry:
    """A registered check, and whether a run of it is still going."""

    info: CheckInfo
    function: CheckFunction
    is_async: bool
    running: bool = False  # a run still on its thread: the next run does not start another
    since: float = 0.0  # when that run began

    def busy(self, now: float) -> bool:
        """Whether a run of this check is still going (an async one past its timeout was lost with its loop)."""
        return self.running and (not self.is_async or now - self.since < self.info.timeout + GRACE)

    def claim(self, now: float) -> bool:
        """Mark the check running from ``now``, unless it already is."""
        if self.busy(now):
            return False
        self.running, self.since = True, now
        return True

    def release(self, _: object = None) -> None:
        """The attempt is over (a future's done callback): the next run may start the check again."""
        self.running = False


class Run:
    """The due checks of one run, from ``now``: each is answered by its attempt or cut at its due time.

    A check is due back at its own timeout, and at the latest at the run's
    ``deadline``. An answer had after that time is a timeout too, whether the
    runner saw it late or not: so the sync and the async runner report a slow
    check the same way, at the same time.
    """

    def __init__(self, due: Sequence[Entry], now: float, deadline: float) -> None:
        self.due = tuple(due)
        self.end = end = now + deadline
        self.cancelled: list[Attempt] = []  # cut at their timeout: an async check may still be cleaning up
        self._until = {entry: min(now + entry.info.timeout, end) for entry in self.due if entry.claim(now)}
        self._results = {entry: Result.fail(STILL_RUNNING) for entry in self.due if entry not in self._until}

    @property
    def started(self) -> tuple[Entry, ...]:
        """The checks this run starts (the others are still running from an earlier run)."""
        return tuple(self._until)

    def settle(self, attempts: Mapping[Entry, Attempt], now: float) -> float | None:
        """Take the answers in, cancel the overdue; the seconds to wait for the next answer, or ``None``: done."""
        for entry, until in tuple(self._until.items()):
            attempt = attempts[entry]
            if attempt.done():
                result, at = (Result.fail(TIMED_OUT), now) if attempt.cancelled() else attempt.result()
                self._results[entry] = result if at <= until else Result.fail(TIMED_OUT)
            elif now >= until:
                if attempt.cancel():  # (a thread runs on: the check is not started again until it returns)
                    self.cancelled.append(attempt)
                self._results[entry] = Result.fail(TIMED_OUT)
            else:
                continue
            del self._until[entry]
        if not self._until:
            return None
        soonest = min(self._until.values())
        wait = soonest - now
        while now + wait < soonest:  # (rounding: a runner that waits this long must find it due)
            wait = math.nextafter(wait, math.inf)
        return wait

    def pending(self, attempts: Mapping[Entry, Attempt]) -> list[Attempt]:
        """The attempts still awaited."""
        return [attempts[entry] for entry in self._until]

    def outcomes(self, at: float) -> list[Outcome]:
        """Each due check's outcome, in the order they were added, stamped ``at`` (seconds since the epoch)."""
        return [Outcome(entry.info, self._results[entry], at) for entry in self.due]


__all__ = ["GRACE", "Answer", "Attempt", "CheckFunction", "Entry", "Run"]
