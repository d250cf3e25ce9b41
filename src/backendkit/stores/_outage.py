"""The outage policy's shell: the breaker every piece uses, which logs once per state change, and old spellings.

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
from warnings import warn

from backendkit.stores._core import BreakerState, OnStoreError, check_on_store_error, check_retry_interval


class Breaker:
    """Skip a failed store for ``retry_interval`` seconds, then let one request try it; log each change once.

    Args:
        retry_interval: Seconds between tries of a failed store (checked: a
            ``ConfigurationError`` when it is not a number of seconds).
        logger: The name of the piece's logger (``"backendkit.ratelimit"``...).
        what: The store as the log lines name it ("the idempotency store").
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = BreakerState(check_retry_interval(retry_interval))
        self.logger = logger
        self.what = what
        self.clock = clock
        self._lock = threading.Lock()  # held only to decide which request probes a failed store

    @property
    def retry_interval(self) -> float:
        """Seconds between tries of a failed store."""
        return self.state.retry_interval

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
        with self._lock:
            news = self.state.failed(self.clock())
        if news:
            logging.getLogger(self.logger).warning("%s is unavailable (%s); %s", self.what, exc, doing)

    def answered(self) -> None:
        """The store answered; the first answer after an outage is logged."""
        if self.state.down_until is None:
            return
        with self._lock:
            news = self.state.answered()
        if news:
            logging.getLogger(self.logger).warning("%s is available again", self.what)


def on_store_error_from(on_store_error: object, on_error: object = None, *, stacklevel: int = 3) -> OnStoreError:
    """``on_store_error``, or the deprecated ``on_error`` when that is given (with a DeprecationWarning).

    Checked first: a bad value is a ``ConfigurationError`` under either name.
    """
    if on_error is None:
        return check_on_store_error(on_store_error)
    checked = check_on_store_error(on_error, "on_error")
    deprecated("on_error", "on_store_error (the same values)", stacklevel=stacklevel + 1)
    return checked


def deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` goes in the next release, and what to write instead (one place for the wording)."""
    warn(f"{old} is deprecated and goes in the next release; use {new}", DeprecationWarning, stacklevel=stacklevel)


__all__ = ["Breaker", "deprecated", "on_store_error_from"]
