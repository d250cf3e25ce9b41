"""``CheckQueue``: how many commands an async store lets run at once on one event loop, and who waits.

Every async store of the kernel (rate limits, idempotency keys, revocation lists) goes through one
queue per event loop; the story below is the rate limiter's, where it was found.

Each check in flight holds one connection, so this is also how many connections
the store opens. It opens them gradually: a cold worker hit by a burst of 500
requests used to open 100 connections at once, whose handshakes then missed the
0.25 s timeout on a busy loop, and those checks failed open (139 admitted
against a limit of 20). Now a loop starts with a few checks in flight, and one
more is let in each time a check succeeds while others wait (so a new
connection is opened only after a check has gone through); the others wait
their turn, first come, first served.

When Redis cannot be reached, waiting would only delay the failure, and the
queue tells the two kinds of failure apart:

- refused or reset (a ``ConnectionError``): Redis is down, so every waiting
  check fails over at once;
- a timeout is only a suspicion, because a loop that was blocked for longer
  than the timeout (a cold worker busy with a burst, a long GC pause) makes the
  checks in flight time out too, with Redis well: they queue again, one check
  at a time tries Redis, and only if a check that started after the first
  timeout times out as well do the waiting checks fail over. A blocked loop
  delays the checks, it does not fail them.
"""

from __future__ import annotations

import asyncio
import collections

from backendkit.stores._core import StoreUnavailable

MAX_IN_FLIGHT = 100  # the most checks in flight, and so connections, on one loop
FIRST_IN_FLIGHT = 4  # how many a loop starts with (and starts again with after a failure)
QUEUE_TIMEOUT = 2.0  # the longest a check waits for its turn before it takes the failure path


class CheckQueue:
    """At most ``in_flight`` checks at once, growing by one per success made while others wait, up to ``most``.

    What ``asyncio.Semaphore`` does, but a free turn is taken without an await
    (its ``acquire`` is a coroutine even then), waiting ends in a StoreUnavailable, the
    number of turns grows with successes, and an unreachable store empties the queue.
    """

    def __init__(self, most: int | None = None, *, first: int | None = None, connections: int | None = None) -> None:
        most = MAX_IN_FLIGHT if most is None else most
        if connections is not None:  # never more in flight than the pool has connections
            most = min(most, connections)
        first = FIRST_IN_FLIGHT if first is None else first
        if most < 1 or first < 1:
            raise ValueError("a queue lets at least one check through")
        self.most = most
        self.first = min(first, most)
        self.in_flight = self.first  # how many may run now
        self.running = 0
        # A waiter's result: None for a turn, the cause when the store failed. Not set_exception: the
        # exception would hold the traceback of the frames awaiting the future, which hold the future,
        # a reference cycle per waiting check for the collector (12 of 16 checks on a cold queue).
        self._waiting: collections.deque[asyncio.Future[BaseException | None]] = collections.deque()
        self._suspect_since: float | None = None  # the loop time of a timeout not yet explained

    def take(self) -> bool:
        """Take a turn now, if one is free and nobody is waiting for it."""
        if self.running < self.in_flight and not self._waiting:
            self.running += 1
            return True
        return False

    async def wait(self) -> None:
        """Wait for a turn (first come, first served); raises StoreUnavailable when the store failed meanwhile."""
        waiter: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            failure = await asyncio.wait_for(waiter, QUEUE_TIMEOUT)  # a future, not a coroutine: no task made
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.result() is None:
                self.done(succeeded=False)  # handed a turn just as it gave up: pass it on
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            if isinstance(exc, asyncio.TimeoutError):
                raise StoreUnavailable(f"redis: no turn free within {QUEUE_TIMEOUT} s") from exc
            raise
        if failure is not None:  # failed over together with the rest of the queue
            raise StoreUnavailable(f"redis: {failure}") from failure

    def done(self, *, succeeded: bool) -> None:
        """A check is over: let one more run if it succeeded while others waited, and hand the turns out."""
        self.running -= 1
        if succeeded:
            self._suspect_since = None
            if self._waiting and self.in_flight < self.most:
                self.in_flight += 1
        while self._waiting and self.running < self.in_flight:
            waiter = self._waiting.popleft()
            if not waiter.done():
                self.running += 1
                waiter.set_result(None)

    def unreachable(self, cause: BaseException) -> None:
        """The store refused or dropped a connection: every waiting check fails over now, and turns start few."""
        self._suspect_since = None
        self.in_flight = self.first
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(cause)

    def timed_out(self, started: float, now: float, cause: BaseException) -> bool:
        """A check that started at loop time ``started`` timed out at ``now``; whether it may try again.

        The first timeout is a suspicion: one check at a time tries Redis, and those
        in flight with the first may queue again. A timeout of a check that started
        after the first one confirms that Redis hangs: the waiting checks fail over.
        """
        if self._suspect_since is not None and started >= self._suspect_since:
            self.unreachable(cause)
            return False
        if self._suspect_since is None:
            self._suspect_since = now
        self.in_flight = 1
        return True
