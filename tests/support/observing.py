"""An observer that keeps what it is told: request starts and ends, and the pieces' events."""

from __future__ import annotations

import threading
from typing import TypeVar

from backendkit.observability import Event, RequestEnd, RequestStart

E = TypeVar("E")


class RecordingObserver:
    """Records every start, end and event, in order, from any thread.

    ``request_started`` returns the start's index, so ``ends`` pairs each end with the start it closes.
    """

    def __init__(self) -> None:
        self.starts: list[RequestStart] = []
        self.ends: list[tuple[object, RequestEnd]] = []
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def request_started(self, start: RequestStart) -> object:
        with self._lock:
            self.starts.append(start)
            return len(self.starts) - 1

    def request_finished(self, token: object, end: RequestEnd) -> None:
        with self._lock:
            self.ends.append((token, end))

    def record(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        """The events of one kind, in the order they came."""
        with self._lock:
            return [event for event in self.events if isinstance(event, kind)]

    @property
    def finished(self) -> list[RequestEnd]:
        """The ends, without their tokens."""
        with self._lock:
            return [end for _, end in self.ends]

    def clear(self) -> None:
        with self._lock:
            self.starts.clear()
            self.ends.clear()
            self.events.clear()
