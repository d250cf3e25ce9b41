"""The outage policy's shell: the breaker every piece uses (it logs once per state change); the old spelling.

:class:`Breaker` wraps the pure :class:`~backendkit.stores._core.BreakerState` with
a lock (threads decide the probe one at a time), a monotonic clock and the piece's
logger: one warning when the store fails after answering, one when it answers
again, never one per request. The rate limiter, :class:`~backendkit.idempotency.Idempotency`
and the token verifier each keep one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from backendkit._deprecation import deprecated
from backendkit.errors import ServiceUnavailable
from backendkit.observability._core.events import BreakerChanged, StoreFailed, StoreName
from backendkit.observability._hub import hub
from backendkit.stores._core import (
    BreakerState,
    OnStoreError,
    StoreUnavailable,
    check_on_store_error,
    check_retry_interval,
)


class Breaker:
    """Skip a failed store for ``retry_interval`` seconds, then let one request try it; log each change once.

    Args:
        retry_interval: Seconds between tries of a failed store (checked: a
            ``ConfigurationError`` when it is not a number of seconds).
        logger: The name of the piece's logger (``"backendkit.ratelimit"``...).
        what: The store as the log lines name it ("the idempotency store").
        store: The store as metrics name it (``ratelimit``, ``idempotency``,
            ``revocations``); ``None``: its failures are not reported to observers.
        clock: Monotonic seconds. An attribute too: tests set it to a clock of their own.

    Example:
        >>> now = [0.0]
        >>> breaker = Breaker(1.0, logger="x", what="the store", clock=lambda: now[0])
        >>> breaker.failed(OSError("refused"), "failing open")
        >>> breaker.usable(), (now.__setitem__(0, 1.0), breaker.usable())[1], breaker.usable()
        (False, True, False)
    """

    def __init__(
        self,
        retry_interval: float,
        *,
        logger: str,
        what: str,
        store: StoreName | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store: StoreName | None = store
        self.state = BreakerState(check_retry_interval(retry_interval))
        self.logger = logger
        self.what = what
        self.clock = clock
        self._lock = threading.Lock()  # held only to decide which request probes a failed store
        self._told_open = False  # whether observers were told this outage began

    @property
    def retry_interval(self) -> float:
        """Seconds between tries of a failed store (settable: checked as at construction)."""
        return self.state.retry_interval

    @retry_interval.setter
    def retry_interval(self, seconds: float) -> None:
        self.state.retry_interval = check_retry_interval(seconds)

    @property
    def down(self) -> bool:
        """Whether the store failed and has not answered since."""
        return self.state.down_until is not None

    def usable(self) -> bool:
        """Whether this request tries the store (while it is down: one request per interval, the probe)."""
        if self.state.down_until is None:  # the common case, without a lock
            return True
        with self._lock:
            return self.state.usable(self.clock())

    def failed(self, exc: BaseException, doing: str) -> None:
        """The store failed; the first failure of an outage is logged, with what the piece does meanwhile."""
        store = self.store if hub.observers else None  # None: nobody to tell
        with self._lock:  # the news and what observers are told of it, decided together
            news = self.state.failed(self.clock())
            tell_open = news and store is not None
            if tell_open:
                self._told_open = True  # so the close is told only after an open (the gauge never goes below 0)
        if store is not None:
            hub.emit(StoreFailed(store))
            if tell_open:
                hub.emit(BreakerChanged(store, open=True))
        if news:
            logging.getLogger(self.logger).warning("%s is unavailable (%s); %s", self.what, exc, doing)

    def answered(self) -> None:
        """The store answered; the first answer after an outage is logged."""
        if self.state.down_until is None:
            return
        with self._lock:
            news = self.state.answered()
            tell_close = news and self._told_open
            if tell_close:
                self._told_open = False
        if news:
            if tell_close and self.store is not None:
                hub.emit(BreakerChanged(self.store, open=False))  # to whoever observes now (may be nobody)
            logging.getLogger(self.logger).warning("%s is available again", self.what)


def without_store(breaker: Breaker, exc: StoreUnavailable | None, on_store_error: OnStoreError) -> None:
    """A request whose store cannot answer (``exc``: it failed now; ``None``: the breaker skips it).

    The failure is the breaker's news (logged once per outage). ``"closed"``: the request is
    refused, 503 with ``Retry-After: 1`` (an idempotency key or a revocation must not be
    skipped); ``"open"``: it returns, and the piece goes on without the store.
    """
    if exc is not None:
        breaker.failed(exc, f"failing {on_store_error}")
    if on_store_error == "closed":
        raise ServiceUnavailable(headers={"Retry-After": "1"}) from exc


def on_store_error_from(on_store_error: object, on_error: object = None) -> OnStoreError:
    """``on_store_error``, or the deprecated ``on_error`` when that is given (with a DeprecationWarning).

    Checked first: a bad value is a ``ConfigurationError`` under either name.
    """
    if on_error is None:
        return check_on_store_error(on_store_error)
    checked = check_on_store_error(on_error, "on_error")
    deprecated("on_error", "on_store_error (the same values)")
    return checked


__all__ = ["Breaker", "on_store_error_from", "without_store"]
