"""What the sync and the async connection share, written once: the decisions of a call, no I/O.

- :data:`FAILURES` and :func:`unavailable`: the one mapping of a driver's errors to
  :class:`~backendkit.stores.StoreUnavailable`. ``RedisClusterException`` is not a
  ``RedisError``; Sentinel's ``MasterNotFoundError`` is a ``ConnectionError``; a socket
  error redis-py did not wrap is an ``OSError``. Anything else is a bug and goes through.
- :class:`Script`: a Lua script sent by its SHA (EVALSHA), loaded when Redis answers
  NOSCRIPT (first use, a restart, SCRIPT FLUSH), once per call.
- :class:`Call`: one command on its way, and the retry rule. A command declared
  ``repeatable`` (safe to send twice) is sent once more after a ``ConnectionError``,
  on a fresh connection: a pooled connection from before a Redis restart fails at
  once ("Connection closed by server"). Timeouts are not retried that way (it would
  double the wait), except on the asyncio side of a store that asks for it (the
  rate-limit stores) when the timeout fired late, because the event loop was busy
  rather than Redis slow (see ``_turns.py``): then the command tries once more in
  its turn (a rate-limit check counted twice is stricter, never looser).

The connections (``_sync.py``, ``_async.py``) only send the call (:meth:`Call.send` or
:meth:`Call.asend`) and hand a failure back to :meth:`Call.failed`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from typing import Any

import redis
from redis.exceptions import NoScriptError, RedisClusterException

from backendkit.stores._core import StoreUnavailable
from backendkit.stores.redis._turns import CheckQueue

FAILURES: tuple[type[BaseException], ...] = (redis.RedisError, RedisClusterException, OSError)
# A timeout that fires this much later than it was due (relative to the timeout) was held up by the
# loop, not by Redis: asyncio's timers fire within a millisecond or two of their time on a free loop.
LATE = 1.02


def unavailable(exc: BaseException) -> StoreUnavailable:
    """The store's error for a driver's: raise it ``from exc`` (the cause stays in the logs, never in answers)."""
    return StoreUnavailable(f"redis: {exc}")


class Script:
    """A Lua script a store sends by SHA.

    Example:
        >>> Script("return 1").sha
        b'e0e1f9fabfc9d4800c877a703b823ac0578ff8db'
    """

    __slots__ = ("sha", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        # Its name in Redis (what SCRIPT LOAD answers): SHA-1 is Redis's choice, not a security measure.
        self.sha = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest().encode("ascii")


class Call:
    """One command through a connection: what to send next, and whether a failure ends it.

    Args:
        command: The command and its arguments (``("EVALSHA", sha, ...)`` for a script).
        script: The script an EVALSHA runs, loaded on NOSCRIPT.
        repeatable: Whether sending the command twice is safe (a stale connection is retried).
    """

    __slots__ = ("command", "loading", "repeatable", "retried", "script")

    def __init__(self, command: tuple[Any, ...], script: Script | None, repeatable: bool) -> None:
        self.command = command
        self.script = script
        self.repeatable = repeatable
        self.retried = False
        self.loading = False  # whether the script is loaded before the command (after a NOSCRIPT)

    def send(self, client: Any) -> Any:
        """Send the command on a sync ``client`` (after loading the script, when Redis lost it): its reply."""
        if self.loading:
            assert self.script is not None
            client.script_load(self.script.text)  # (on a Cluster client: on every primary)
        return client.execute_command(*self.command)

    def asend(self, client: Any) -> Awaitable[Any]:
        """:meth:`send` on an asyncio ``client``: what to await for the reply."""
        return self._load_and_send(client) if self.loading else client.execute_command(*self.command)

    async def _load_and_send(self, client: Any) -> Any:
        assert self.script is not None
        await client.script_load(self.script.text)
        return await client.execute_command(*self.command)

    def failed(
        self,
        exc: Exception,
        queue: CheckQueue | None = None,
        started: float = 0.0,
        now: float = 0.0,
        wait: float | None = None,
    ) -> None:
        """Whether to send again (it returns) or fail: it raises StoreUnavailable (a non-driver error as it is).

        ``queue``, ``started`` and ``now`` (the loop's times) come from the asyncio side, whose
        queue of commands learns of the failure; ``wait`` (the store's timeout) too, from a
        store whose timeouts that fired late are tried again (the rate-limit stores).
        """
        if isinstance(exc, NoScriptError) and self.script is not None and not self.loading:
            self.loading = True
            # Handled: its traceback goes now. redis-py 5.0 keeps the error in a cycle of its own frames,
            # and the traceback would keep the call's frames (and the Call) in it, for the collector.
            exc.__traceback__ = None
            return
        if not isinstance(exc, FAILURES):
            raise exc
        if isinstance(exc, redis.TimeoutError):
            if queue is not None:  # Redis hangs, or this loop was blocked: see CheckQueue
                suspected_only = queue.timed_out(started, now, exc)
                if wait is not None and not self.retried and suspected_only and now - started >= wait * LATE:
                    self.retried = True
                    return
        elif isinstance(exc, redis.ConnectionError):  # refused or reset (Sentinel: no master found)
            if self.repeatable and not self.retried:
                self.retried = True
                return
            if queue is not None:
                queue.unreachable(exc)  # Redis is down: every waiting command fails over now
        raise unavailable(exc) from exc


__all__ = ["FAILURES", "LATE", "Call", "Script", "unavailable"]
