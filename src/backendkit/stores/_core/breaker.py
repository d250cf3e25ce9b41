"""The breaker's state machine, with the time passed in. Pure (the shell adds the lock, the clock and the log).

Three states. *Closed*: the store is used. A failure *opens* it: the store is
skipped (the policy answers at once) until ``retry_interval`` has passed. Then it
is *half open*: the next request tries the store, and every other one keeps to
the policy until the interval after that, so a dead store costs at most one
request's wait per ``retry_interval``. An answer closes it again.

::

    closed --failed--> open --interval over: one probe--> half open --answered--> closed
                        ^                                      |
                        +---------------failed-----------------+
"""

from __future__ import annotations


class BreakerState:
    """Whether to use a store now, given when it last failed.

    Args:
        retry_interval: Seconds between tries of a failed store.

    Example:
        >>> state = BreakerState(1.0)
        >>> state.failed(now=10.0), state.usable(now=10.5), state.usable(now=11.0), state.usable(now=11.2)
        (True, False, True, False)
        >>> state.answered(), state.usable(now=11.3)
        (True, True)
    """

    __slots__ = ("down_until", "retry_interval")

    def __init__(self, retry_interval: float) -> None:
        self.retry_interval = retry_interval
        self.down_until: float | None = None  # None: closed; else skip the store until then

    @property
    def down(self) -> bool:
        """Whether the store failed and has not answered since."""
        return self.down_until is not None

    def usable(self, now: float) -> bool:
        """Whether this request tries the store; the first one after an interval is the probe."""
        down_until = self.down_until
        if down_until is None:
            return True
        if now < down_until:
            return False
        self.down_until = now + self.retry_interval  # half open: this one probes, the others wait
        return True

    def failed(self, now: float) -> bool:
        """The store failed at ``now``; whether that is news (it was up: log it)."""
        was_up = self.down_until is None
        self.down_until = now + self.retry_interval
        return was_up

    def answered(self) -> bool:
        """The store answered; whether that is news (it was down: log it)."""
        was_down = self.down_until is not None
        self.down_until = None
        return was_down


__all__ = ["BreakerState"]
