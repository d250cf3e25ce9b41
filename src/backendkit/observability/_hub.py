"""The observers of this process, and the one call every piece makes to reach them.

A piece emits with ``if hub.observers: hub.emit(Event(...))``: with no observer
installed that is one attribute check, and no event is built. An observer that
raises is logged (once per installed observer and kind of failure) and never fails the
request it was told about.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from backendkit._settings import PROBE_PATHS
from backendkit.observability._core.events import Event, RequestEnd, RequestStart

logger = logging.getLogger("backendkit.observability")


@runtime_checkable
class Observer(Protocol):
    """What receives the pieces' events: the Prometheus and OpenTelemetry observers, or one of your own.

    ``request_started`` returns whatever the observer needs back at the end (a
    span, a start time), or ``None``; ``request_finished`` gets it with the end.
    Both are called in the request's own context (thread or task), so a
    contextvar set at the start is still set at the end.
    """

    def request_started(self, start: RequestStart) -> object: ...

    def request_finished(self, token: object, end: RequestEnd) -> None: ...

    def record(self, event: Event) -> None: ...


class Hub:
    """The observers installed in this process (see :func:`backendkit.observability.observe`)."""

    def __init__(self) -> None:
        self.observers: tuple[Observer, ...] = ()
        self.exclude_paths: frozenset[str] = frozenset()
        self.probes = False
        # Where probes and scrapes are served: the default probe paths, and every path health_routes and
        # metrics_routes have mounted in this process (a set of route paths, never of request paths).
        self.monitoring_paths: set[str] = set(PROBE_PATHS)
        self._complained: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def install(self, observers: Iterable[Observer], *, exclude_paths: Iterable[str], probes: bool) -> None:
        """Replace the observers and what they leave out."""
        with self._lock:
            self.exclude_paths = frozenset(exclude_paths)
            self.probes = probes
            self.observers = tuple(observers)
            # Complaints are by id(): forgotten with the observers, or a new observer given a dead one's id
            # would never be logged (an observer installed again is logged again, once).
            self._complained = set()

    def emit(self, event: Event) -> None:
        """Tell every observer of ``event``."""
        for observer in self.observers:
            try:
                observer.record(event)
            except Exception as exc:
                self._failed(observer, "record", exc)

    def monitor(self, path: str) -> None:
        """Note that a probe or a scrape is served at ``path`` (called when the routes are made)."""
        with self._lock:
            self.monitoring_paths = {*self.monitoring_paths, path}  # swapped whole: readers never lock

    def excluded(self, path: str) -> bool:
        """Whether a request to ``path`` is left out of request metrics and traces (nothing observes it)."""
        return path in self.exclude_paths or (not self.probes and path in self.monitoring_paths)

    def request_started(self, observers: tuple[Observer, ...], start: RequestStart) -> tuple[object, ...]:
        """Tell ``observers`` (the caller's one read of :attr:`observers`) that a request began.

        What each returns comes back to it at :meth:`request_finished`: the caller keeps
        the same tuple of observers for the end, whatever is installed meanwhile.
        """
        tokens: list[object] = []
        for observer in observers:
            try:
                tokens.append(observer.request_started(start))
            except Exception as exc:
                tokens.append(None)
                self._failed(observer, "request_started", exc)
        return tuple(tokens)

    def request_finished(self, observers: tuple[Observer, ...], tokens: tuple[object, ...], end: RequestEnd) -> None:
        """Tell the observers that saw the start (``observers``) that the request was answered, last first.

        Last first, as contexts nest: an observer that attached a context at the start
        detaches it after those started after it have detached theirs.
        """
        for index in range(len(observers) - 1, -1, -1):  # (no list of pairs built: once per request)
            try:
                observers[index].request_finished(tokens[index], end)
            except Exception as exc:
                self._failed(observers[index], "request_finished", exc)

    def _failed(self, observer: Observer, where: str, exc: Exception) -> None:
        key = (id(observer), f"{where}:{type(exc).__name__}")
        if key in self._complained:
            return
        self._complained.add(key)
        logger.error("observer %r failed in %s; it is skipped for this event", observer, where, exc_info=exc)


hub = Hub()
"""The one hub of this process."""
