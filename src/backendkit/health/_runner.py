"""The runner: starts each due check on a thread or a loop and waits, from sync code or from async code.

The decisions are :class:`backendkit.health._core.run.Run`'s; what a check's answer or
exception means is decided in one place (:meth:`Runner._answer`). The two runners
differ only in how they start an attempt and how they wait: sync code runs sync
checks on a small thread pool and async ones on one background event loop (so no
request starts a loop); async code runs async checks as tasks on its own loop and
sync ones in the same thread pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from backendkit.health._core.report import RAISED, TIMED_OUT, Outcome, Result, as_result
from backendkit.health._core.run import Answer, Attempt, Entry, Run
from backendkit.observability._core.events import HealthChecked
from backendkit.observability._hub import hub

logger = logging.getLogger("backendkit.health")
# A check that raises one of these took too long by its own measure (a driver's socket timeout): "timed out".
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError)


class Runner:
    """Runs checks for one :class:`~backendkit.health.Health`; owns its thread pool and background loop.

    Args:
        clock: Monotonic seconds: the checks' timeouts and the run's deadline are read on it.
        wall_clock: Seconds since the epoch, for the outcomes' ``time``.
        deadline: Seconds a whole run may take.
    """

    def __init__(self, clock: Callable[[], float], wall_clock: Callable[[], float], deadline: float) -> None:
        self._clock = clock
        self._wall = wall_clock
        self._deadline = deadline
        self._lock = threading.Lock()  # the pool and the loop are made on first use, by whichever thread comes first
        self._pool: ThreadPoolExecutor | None = None
        self._workers = 2
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, due: Sequence[Entry]) -> list[Outcome]:
        """Run the due checks from sync code, each cut at its timeout; their outcomes."""
        began = self._clock()
        run = Run(due, began, self._deadline)
        context = contextvars.copy_context()  # the request's (its id goes with a check's log line)
        attempts = {entry: self._start(entry, context) for entry in run.started}
        while (wait := run.settle(attempts, self._clock())) is not None:
            concurrent.futures.wait(run.pending(attempts), wait, concurrent.futures.FIRST_COMPLETED)  # type: ignore[arg-type]
        outcomes = run.outcomes(self._wall())
        if hub.observers:
            self._observed(run, attempts, outcomes, began)
        return outcomes

    async def arun(self, due: Sequence[Entry]) -> list[Outcome]:
        """Run the due checks from async code, each cut at its timeout; their outcomes."""
        began = self._clock()
        run = Run(due, began, self._deadline)
        attempts = {entry: self._astart(entry) for entry in run.started}
        while (wait := run.settle(attempts, self._clock())) is not None:
            await asyncio.wait(run.pending(attempts), timeout=wait, return_when=asyncio.FIRST_COMPLETED)  # type: ignore[type-var]
        if run.cancelled and (left := run.end - self._clock()) > 0:
            # A cancelled task cleans up first (a query cancelled on the server, a connection back in its pool),
            # within the run's deadline, as asyncio.wait_for lets it. (A thread cannot be cancelled: nothing to wait.)
            await asyncio.wait(run.cancelled, timeout=left)  # type: ignore[type-var]
        outcomes = run.outcomes(self._wall())
        if hub.observers:
            self._observed(run, attempts, outcomes, began)
        return outcomes

    def _observed(self, run: Run, attempts: Mapping[Entry, Attempt], outcomes: list[Outcome], began: float) -> None:
        """One HealthChecked per check this run started, with the status its outcome says (a timeout: fail).

        Told from the run, not from each attempt: a check cut at its timeout tells its ``fail`` when
        the run ends, not a late ``pass`` when its thread returns (or nothing, its task cancelled).
        """
        for entry, outcome in zip(run.due, outcomes, strict=True):
            attempt = attempts.get(entry)
            if attempt is None:  # still running from an earlier run: not run now
                continue
            cut = min(entry.info.timeout, self._deadline)
            answered = attempt.done() and not attempt.cancelled()
            took = min(attempt.result()[1] - began, cut) if answered else cut
            hub.emit(HealthChecked(entry.info.name, outcome.result.status, max(took, 0.0)))

    def size(self, checks: int) -> None:
        """One thread per check at most (a check cut at its timeout is not started again while it runs)."""
        with self._lock:
            if self._pool is not None and self._workers < checks:  # a bigger pool on next use
                self._pool.shutdown(wait=False)
                self._pool = None
            self._workers = max(2, checks)

    def executor(self) -> ThreadPoolExecutor:
        """The thread pool of the sync checks, made on first use."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="backendkit-health")
            return self._pool

    def loop(self) -> asyncio.AbstractEventLoop:
        """The background loop of the async checks run from sync code, started on first use."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="backendkit-health-loop", daemon=True).start()
                self._loop = loop
            return self._loop

    # Starting an attempt: a future of its answer, which lets the check run again once done

    def _start(self, entry: Entry, context: contextvars.Context) -> Attempt:
        if entry.is_async:  # (the task runs in a copy of this thread's context: the request id goes along)
            future = asyncio.run_coroutine_threadsafe(self._aattempt(entry), self.loop())
        else:
            future = self.executor().submit(context.copy().run, self._attempt, entry, True)  # type: ignore[arg-type]
        future.add_done_callback(entry.release)
        return future

    def _astart(self, entry: Entry) -> Attempt:
        loop = asyncio.get_running_loop()
        if entry.is_async:
            task = loop.create_task(self._aattempt(entry))
            task.add_done_callback(entry.release)
            return task
        return loop.create_task(self._athreaded(entry))

    async def _athreaded(self, entry: Entry) -> Answer:
        thread = self.executor().submit(contextvars.copy_context().run, self._attempt, entry, False)
        thread.add_done_callback(entry.release)  # when the thread returns, even if this task was cancelled
        answer = await asyncio.wrap_future(thread)
        return answer if isinstance(answer, tuple) else await self._aattempt(entry, answer)

    # An attempt, on a thread or on a loop: its answer, never an exception

    def _attempt(self, entry: Entry, own_loop: bool) -> Answer | Awaitable[Any]:
        try:
            returned = entry.function()
            if inspect.isawaitable(returned):  # a plain callable that returned a coroutine (a lambda, a partial)
                entry.is_async = True  # (the next runs await it on a loop directly)
                if not own_loop:
                    return returned  # the async runner awaits it on its own loop
                running = asyncio.run_coroutine_threadsafe(_awaited(returned), self.loop())
                try:
                    returned = running.result(timeout=entry.info.timeout)
                finally:
                    running.cancel()
            return self._answer(entry, returned)
        except Exception as exc:
            return self._answer(entry, error=exc)

    async def _aattempt(self, entry: Entry, awaitable: Awaitable[Any] | None = None) -> Answer:
        try:
            return self._answer(entry, await (entry.function() if awaitable is None else awaitable))
        except Exception as exc:
            return self._answer(entry, error=exc)

    def _answer(self, check: Entry, returned: object = None, error: Exception | None = None) -> Answer:
        """What a check's return or exception means, decided once for both runners, and when it was had."""
        if error is None:
            try:
                result = as_result(returned)
            except TypeError as exc:
                error = exc
        if isinstance(error, _TIMEOUTS):
            result = Result.fail(TIMED_OUT)
        elif error is not None:
            logger.error("health check %s raised", check.info.name, exc_info=error)
            result = Result.fail(RAISED)
        return result, self._clock()


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


__all__ = ["Runner"]
