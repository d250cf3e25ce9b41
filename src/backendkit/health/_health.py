"""The :class:`Health` object: named checks, run concurrently with timeouts, cached, with startup and draining.

The shell around :mod:`backendkit.health._core.report`: the registry of checks, startup
and draining. The checks are run by :mod:`backendkit.health._runner` (on the event
loop for async code, on a small thread pool for sync code, never with ``SIGALRM``),
with every decision taken by :mod:`backendkit.health._core.run`; the report is cached for
``interval`` seconds and shared by concurrent probes (:mod:`backendkit.health._flight`).
"""

from __future__ import annotations

import inspect
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from backendkit.context import get_request_facts
from backendkit.errors import ConfigurationError
from backendkit.health._core.http import HEADERS, wants_verbose
from backendkit.health._core.report import STILL_RUNNING, CheckInfo, Outcome, Report, overall
from backendkit.health._core.run import CheckFunction, Entry
from backendkit.health._flight import SingleFlight
from backendkit.health._runner import Runner
from backendkit.observability._core.events import HealthReported
from backendkit.observability._hub import hub


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
        clock: Monotonic seconds. Every duration is read on it: the cache's age, the
            run's deadline and each check's timeout.
        wall_clock: Seconds since the epoch, for each outcome's ``time``.

    Example:
        >>> from backendkit.health import Result
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
        self._checks: list[Entry] = []
        self._started: set[str] = set()
        self._draining = False
        # Every time is read on the injected clocks: the cache's age, the run's deadline, each check's timeout.
        self._flight = SingleFlight(clock, self.interval, self.deadline)
        self._runner = Runner(clock, wall_clock, self.deadline)

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
        self._checks.append(Entry(info, check, is_async))
        self._runner.size(len(self._checks))

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
        report = self.ready() if probe == "ready" else self.startup() if probe == "startup" else self.live()
        if hub.observers:
            hub.emit(HealthReported(_probe_name(probe), report.status))
        return report

    async def areport(self, probe: str) -> Report:
        """:meth:`report` from async code."""
        if probe == "ready":
            report = await self.aready()
        else:
            report = await self.astartup() if probe == "startup" else self.live()
        if hub.observers:
            hub.emit(HealthReported(_probe_name(probe), report.status))
        return report

    def response(self, report: Report, query: str = "") -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        """What an adapter sends for ``report``: status, headers, body (details as configured)."""
        verbose = wants_verbose(self.verbose, self.verbose_query, query)
        facts = get_request_facts()
        if facts is not None:
            facts.monitoring = True  # left out of request metrics (unless probes are measured)
            if self.quiet:  # the access log writes this request's line at DEBUG
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
        early, future, mine = self._flight.claim(self._early)
        if early is not None:
            return early
        if not mine:
            return self._flight.result(future)
        return self._flight.run(future, lambda: self._report(self._runner.run(self._due())))

    async def aready(self) -> Report:
        """Readiness, from async code: checks run concurrently on the loop (sync ones in threads)."""
        early, future, mine = self._flight.claim(self._early)
        if early is not None:
            return early
        if mine:
            self._flight.start(future, self._areport_of_run)
        return await self._flight.aresult(future)

    # Internals -------------------------------------------------------------------------

    def _early(self) -> Report | None:
        if self._draining:
            return Report("fail", notes={"draining": "the application is shutting down"})
        return self._flight.fresh()

    def _due(self) -> list[Entry]:
        return [c for c in self._checks if not (c.info.startup and c.info.name in self._started)]

    async def _areport_of_run(self) -> Report:
        return self._report(await self._runner.arun(self._due()))

    def _report(self, outcomes: list[Outcome]) -> Report:
        for outcome in outcomes:
            if outcome.check.startup and outcome.result.status != "fail":  # a warning still counts as started
                self._started.add(outcome.check.name)
        status = overall(outcomes)
        notes: dict[str, str] = {}
        if not self.started:
            status, notes = "fail", {"startup": "not every startup check has passed yet"}
        return self._flight.keep(Report(status, tuple(outcomes), notes))


_PROBES = frozenset({"live", "ready", "startup", "healthz"})


def _probe_name(probe: str) -> str:
    return probe if probe in _PROBES else "other"


__all__ = ["STILL_RUNNING", "CheckFunction", "Health", "Report"]
