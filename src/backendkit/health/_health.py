"""The :class:`Health` object: named checks, run concurrently with timeouts, cached, with startup and draining.

The shell around :mod:`backendkit.health._report`: it reads the clocks, runs the
checks (on the event loop for async code, on a small thread pool for sync code,
never with ``SIGALRM``), caches the report for ``interval`` seconds and lets
concurrent probes share the run in flight.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backendkit.context import get_request_facts
from backendkit.errors import ConfigurationError
from backendkit.health._http import HEADERS, encode, wants_verbose
from backendkit.health._report import (
    RAISED,
    TIMED_OUT,
    CheckInfo,
    Outcome,
    Result,
    Status,
    as_result,
    body,
    http_status,
    overall,
)

logger = logging.getLogger("backendkit.health")

CheckFunction = Callable[[], Any] | Callable[[], Awaitable[Any]]
STILL_RUNNING = "still running"
_GRACE = 0.5  # seconds a probe waits past the deadline for a run in flight elsewhere before it answers fail


@dataclass(frozen=True)
class Report:
    """A probe's answer: the overall status, each check's outcome, and notes (draining, startup)."""

    status: Status
    outcomes: tuple[Outcome, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def http_status(self) -> int:
        """200 for ``pass`` and ``warn``, 503 for ``fail``."""
        return http_status(self.status)

    _encoded: dict[bool, bytes] = field(default_factory=dict, repr=False, compare=False)

    def body(self, *, verbose: bool) -> dict[str, Any]:
        """The ``application/health+json`` document (details only with ``verbose``)."""
        return body(self.status, self.outcomes, verbose=verbose, notes=self.notes)

    def encoded(self, *, verbose: bool) -> bytes:
        """:meth:`body` as bytes, encoded once per report: a cached report costs no encoding (2 µs a probe)."""
        data = self._encoded.get(verbose)
        if data is None:
            data = self._encoded[verbose] = encode(self.body(verbose=verbose))
        return data


@dataclass
class _Check:
    info: CheckInfo
    function: CheckFunction
    is_async: bool
    running: bool = False  # a run still on its thread: the next run does not start another
    since: float = 0.0  # when that run began

    def busy(self, now: float) -> bool:
        """Whether a run of this check is still going (an async one past its timeout was lost with its loop)."""
        return self.running and (not self.is_async or now - self.since < self.info.timeout + _GRACE)

    def claim(self, now: float) -> bool:
        """Mark the check running from ``now``, unless it already is."""
        if self.busy(now):
            return False
        self.running, self.since = True, now
        return True


class Health:
    """Liveness, readiness and startup for one application.

    Args:
        interval: Seconds a readiness report is reused: a flood of probes costs each
            dependency at most one check per interval.
        deadline: Seconds a whole run may take, whatever the checks' own timeouts.
        verbose: Whether the bodies show each check (off: only ``status``). Turn it on
            where only your own network reaches the probes.
        verbose_query: Whether ``?verbose`` asks for the details on a request (off).
        quiet: Whether the probes' access lines go to DEBUG wherever they are mounted
            (prefixed or renamed too), as ``ACCESS_LOG_QUIET`` does for the default paths.

    Example:
        >>> health = Health()
        >>> health.add("cache:responseTime", lambda: Result.ok(0.2, "ms"), component_type="datastore")
        >>> health.ready().status, health.ready().http_status
        ('pass', 200)
        >>> health.drain()
        >>> health.ready().http_status, health.live().http_status
        (503, 200)
    """

    def __init__(
        self,
        *,
        interval: float = 2.0,
        deadline: float = 5.0,
        verbose: bool = False,
        verbose_query: bool = False,
        quiet: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (("interval", interval), ("deadline", deadline)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ConfigurationError(f"{name} is a number of seconds, not {value!r}")
        if deadline <= 0:
            raise ConfigurationError("deadline is a positive number of seconds")
        self.interval = float(interval)
        self.deadline = float(deadline)
        self.verbose = verbose
        self.verbose_query = verbose_query
        self.quiet = quiet
        self._clock = clock
        self._wall = wall_clock
        self._checks: list[_Check] = []
        self._started: set[str] = set()
        self._draining = False
        self._cached: tuple[float, Report] | None = None
        self._lock = threading.Lock()
        # The run in flight, shared by every probe of the process whichever thread or loop
        # it comes from (sync views, async views, a WSGI server's threads), and when it began.
        self._inflight: tuple[float, concurrent.futures.Future[Report]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # the async runs (a reference, so they are not collected)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(
        self,
        name: str,
        check: CheckFunction,
        *,
        critical: bool = True,
        timeout: float = 1.0,
        startup: bool = False,
        component_type: str | None = None,
        component_id: str | None = None,
    ) -> None:
        """Add a readiness check (or, with ``startup``, a check that must pass once before readiness can).

        ``check()`` (sync or async) returns a :class:`Result`, ``None``/``True`` for a pass
        or ``False`` for a failure, or raises (a failure whose text is logged, never shown).
        """
        if not callable(check):
            raise ConfigurationError(f"the check {name!r} is not callable")
        if any(existing.info.name == name for existing in self._checks):
            raise ConfigurationError(f"two checks are named {name!r}")
        if startup and not critical:
            raise ConfigurationError(f"the startup check {name!r} is critical: readiness waits until it has passed")
        info = CheckInfo(name, critical, timeout, startup, component_type, component_id)
        is_async = inspect.iscoroutinefunction(check) or inspect.iscoroutinefunction(getattr(check, "__call__", None))  # noqa: B004
        self._checks.append(_Check(info, check, is_async))
        if self._pool is not None and self._pool_size < len(self._checks):  # one thread per check, as they grow
            self._pool.shutdown(wait=False)
            self._pool = None

    def check(self, name: str, **options: Any) -> Callable[[CheckFunction], CheckFunction]:
        """:meth:`add` as a decorator: ``@health.check("postgres:responseTime", timeout=0.5)``."""

        def decorate(function: CheckFunction) -> CheckFunction:
            self.add(name, function, **options)
            return function

        return decorate

    @property
    def checks(self) -> Sequence[CheckInfo]:
        """The configured checks."""
        return tuple(check.info for check in self._checks)

    # Draining and startup ------------------------------------------------------------

    def drain(self) -> None:
        """Answer readiness with 503 from now on (the application is shutting down); liveness stays 200."""
        self._draining = True

    def drain_on_signals(self, signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT)) -> bool:
        """Drain when one of ``signals`` arrives, then let the handler installed before run as usual.

        Call it once the server has installed its own handlers (for ASGI apps,
        :class:`backendkit.starlette.health.DrainOnShutdown` does it at lifespan startup):
        readiness is then 503 from the signal on, while the server finishes the requests in
        flight. Returns whether it could (signals are only handled on the main thread).
        """
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in signals:
            previous = signal.getsignal(signum)

            def handler(received: int, frame: Any, previous: Any = previous) -> None:
                self.drain()
                if callable(previous):
                    previous(received, frame)
                elif previous == signal.SIG_DFL:
                    signal.signal(received, signal.SIG_DFL)
                    signal.raise_signal(received)

            signal.signal(signum, handler)
        return True

    @property
    def draining(self) -> bool:
        """Whether :meth:`drain` was called."""
        return self._draining

    @property
    def started(self) -> bool:
        """Whether every startup check has passed once."""
        return all(c.info.name in self._started for c in self._checks if c.info.startup)

    # Reports ---------------------------------------------------------------------------

    def report(self, probe: str) -> Report:
        """The report of ``probe`` (``live``, ``ready``, ``startup`` or ``healthz``), from sync code."""
        return self.ready() if probe == "ready" else self.startup() if probe == "startup" else self.live()

    async def areport(self, probe: str) -> Report:
        """:meth:`report` from async code."""
        if probe == "ready":
            return await self.aready()
        return await self.astartup() if probe == "startup" else self.live()

    def response(self, report: Report, query: str = "") -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        """What an adapter sends for ``report``: status, headers, body (details as configured)."""
        verbose = wants_verbose(self.verbose, self.verbose_query, query)
        facts = get_request_facts() if self.quiet else None
        if facts is not None:  # the access log writes this request's line at DEBUG
            facts.probe = True
        return report.http_status, HEADERS, report.encoded(verbose=verbose)

    def live(self) -> Report:
        """Liveness: the process answers. No dependency is checked (a dead database must not restart pods)."""
        return Report("pass")

    def startup(self) -> Report:
        """The startup probe: ``fail`` until every startup check has passed once (it runs them, as readiness does)."""
        if not self.started:
            self.ready()
        if self.started:
            return Report("pass")
        return Report("fail", notes={"startup": "not every startup check has passed yet"})

    async def astartup(self) -> Report:
        """:meth:`startup` from async code."""
        if not self.started:
            await self.aready()
        return self.startup()

    def ready(self) -> Report:
        """Readiness, from sync code: runs the checks (sync ones on a thread pool) unless a fresh report is cached.

        Concurrent probes, from any thread or event loop, share one run. From async code
        use :meth:`aready`: a sync wait on the loop that runs the checks would stall it.
        """
        early, future, mine = self._claim()
        if early is not None:
            return early
        if not mine:
            try:
                return future.result(timeout=self._patience())
            except concurrent.futures.TimeoutError:
                return _still_running()
        try:
            report = self._store(self._run_sync())
        except BaseException:
            future.set_result(_still_running())
            raise
        future.set_result(report)
        return report

    async def aready(self) -> Report:
        """Readiness, from async code: checks run concurrently on the loop (sync ones in threads)."""
        early, future, mine = self._claim()
        if early is not None:
            return early
        if mine:
            task = asyncio.get_running_loop().create_task(self._arun_into(future))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # shield: a probe that gives up (its client went away) leaves the run to the others
        waited = asyncio.shield(asyncio.wrap_future(future))
        try:
            return await asyncio.wait_for(waited, self._patience())
        except asyncio.TimeoutError:
            return _still_running()

    # Internals -------------------------------------------------------------------------

    def _early(self) -> Report | None:
        if self._draining:
            return Report("fail", notes={"draining": "the application is shutting down"})
        cached = self._cached
        if cached is not None and self._clock() - cached[0] < self.interval:
            return cached[1]
        return None

    def _due(self) -> list[_Check]:
        return [c for c in self._checks if not (c.info.startup and c.info.name in self._started)]

    def _store(self, outcomes: list[Outcome]) -> Report:
        for outcome in outcomes:
            if outcome.check.startup and outcome.result.status != "fail":  # a warning still counts as started
                self._started.add(outcome.check.name)
        status = overall(outcomes)
        notes: dict[str, str] = {}
        if not self.started:
            status, notes = "fail", {"startup": "not every startup check has passed yet"}
        report = Report(status, tuple(outcomes), notes)
        self._cached = (self._clock(), report)
        return report

    def _patience(self) -> float:
        return self.deadline + _GRACE

    def _claim(self) -> tuple[Report | None, concurrent.futures.Future[Report], bool]:
        """A fresh report, or the run in flight to wait for, or a new run that this caller makes (``True``)."""
        early = self._early()  # (without the lock first: a cached report is what most probes get)
        if early is not None:
            return early, _NO_RUN, False
        with self._lock:
            early = self._early()
            inflight = self._inflight
            if early is not None or (
                inflight and not inflight[1].done() and self._clock() - inflight[0] < self._patience()
            ):
                # (a run older than the deadline allows was abandoned with its loop: start another)
                return early, inflight[1] if inflight else _NO_RUN, False
            future: concurrent.futures.Future[Report] = concurrent.futures.Future()
            self._inflight = (self._clock(), future)
            return None, future, True

    async def _arun_into(self, future: concurrent.futures.Future[Report]) -> None:
        report = _still_running()
        try:
            report = self._store(await self._run_async())
        finally:  # cancelled with its loop, the run still answers the probes waiting for it
            future.set_result(report)

    def _failed(self, check: _Check, exc: BaseException) -> Result:
        logger.error("health check %s raised", check.info.name, exc_info=exc)
        return Result.fail(RAISED)

    async def _arun_one(self, check: _Check) -> Result:
        if not check.claim(self._clock()):
            return Result.fail(STILL_RUNNING)
        was_async = check.is_async
        try:
            if was_async:
                returned = await asyncio.wait_for(check.function(), check.info.timeout)
            else:
                future = asyncio.get_running_loop().run_in_executor(self._executor(), check.function)
                returned = await asyncio.wait_for(asyncio.shield(future), check.info.timeout)
                if inspect.isawaitable(returned):  # a plain callable that returned a coroutine (a lambda, a partial)
                    check.is_async = True  # (the next runs await it on the loop directly)
                    returned = await asyncio.wait_for(returned, check.info.timeout)
            return as_result(returned)
        except asyncio.TimeoutError:
            return Result.fail(TIMED_OUT)
        except Exception as exc:
            return self._failed(check, exc)
        finally:
            if was_async:
                check.running = False
            else:  # a sync check cut at its timeout still occupies its thread until it returns
                future.add_done_callback(lambda _: setattr(check, "running", False))

    async def _run_async(self) -> list[Outcome]:
        due = self._due()
        tasks = [asyncio.ensure_future(self._arun_one(check)) for check in due]
        if tasks:
            await asyncio.wait(tasks, timeout=self.deadline)
        now = self._wall()
        outcomes = []
        for check, task in zip(due, tasks, strict=True):
            if task.done():
                result = task.result()
            else:
                task.cancel()
                result = Result.fail(TIMED_OUT)
            outcomes.append(Outcome(check.info, result, now))
        return outcomes

    def _run_sync(self) -> list[Outcome]:
        due = self._due()
        # The request's context (its id, for the log line of a check that raises) goes with each check.
        context = contextvars.copy_context()
        futures: list[concurrent.futures.Future[tuple[Result, float]] | None] = []
        for check in due:
            if not check.claim(self._clock()):
                futures.append(None)
                continue
            if check.is_async:  # on the health object's own loop thread: no event loop per request
                # (the task runs in a copy of this thread's context: the request id goes along)
                future = asyncio.run_coroutine_threadsafe(self._timed_async(check), self._background_loop())
            else:
                future = self._executor().submit(context.copy().run, self._timed_sync, check)
            futures.append(future)
        self._wait(due, futures)
        now = self._wall()
        outcomes = []
        for check, submitted in zip(due, futures, strict=True):
            if submitted is None:
                result = Result.fail(STILL_RUNNING)
            elif submitted.done():
                result, took = submitted.result()
                if took > check.info.timeout:  # it finished, but later than its timeout allows
                    result = Result.fail(TIMED_OUT)
            else:
                result = Result.fail(TIMED_OUT)
            outcomes.append(Outcome(check.info, result, now))
        return outcomes

    def _wait(self, due: list[_Check], futures: Sequence[concurrent.futures.Future[Any] | None]) -> None:
        """Wait until each check is done or past its own timeout (and the run past its deadline)."""
        started = time.monotonic()
        end = started + self.deadline
        pending = {f: min(started + c.info.timeout, end) for c, f in zip(due, futures, strict=True) if f is not None}
        while pending:
            now = time.monotonic()
            pending = {f: until for f, until in pending.items() if until > now and not f.done()}
            if not pending:
                return
            concurrent.futures.wait(
                pending, timeout=min(pending.values()) - now, return_when=concurrent.futures.FIRST_COMPLETED
            )

    def _timed_sync(self, check: _Check) -> tuple[Result, float]:
        started = time.perf_counter()
        try:
            returned = check.function()
            if inspect.isawaitable(returned):  # a plain callable that returned a coroutine: run it on the loop thread
                check.is_async = True
                running = asyncio.run_coroutine_threadsafe(_awaited(returned), self._background_loop())
                returned = running.result(timeout=check.info.timeout)
            result = as_result(returned)
        except TimeoutError:
            result = Result.fail(TIMED_OUT)
        except Exception as exc:
            result = self._failed(check, exc)
        finally:
            check.running = False
        return result, time.perf_counter() - started

    async def _timed_async(self, check: _Check) -> tuple[Result, float]:
        started = time.perf_counter()
        try:
            result = as_result(await asyncio.wait_for(check.function(), check.info.timeout))
        except asyncio.TimeoutError:
            result = Result.fail(TIMED_OUT)
        except Exception as exc:
            result = self._failed(check, exc)
        finally:
            check.running = False
        return result, time.perf_counter() - started

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            # One thread per check at most: a check cut at its timeout is not started again while it runs.
            workers = self._pool_size = max(2, len(self._checks))
            self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="backendkit-health")
        return self._pool

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="backendkit-health-loop", daemon=True).start()
            self._loop = loop
        return self._loop


_NO_RUN: concurrent.futures.Future[Report] = concurrent.futures.Future()  # (with a report at hand: nothing to wait for)


def _still_running() -> Report:
    return Report("fail", notes={"checks": "a run of the checks is still in flight elsewhere"})


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


__all__ = ["STILL_RUNNING", "CheckFunction", "Health", "Report"]
