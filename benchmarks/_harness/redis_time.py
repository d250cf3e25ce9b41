"""Redis's own time per operation, from INFO commandstats: what a check costs the server, not the client.

A runner is wrapped so that each batch it runs starts with ``CONFIG RESETSTAT`` and ends with
``INFO commandstats``; the figure is the microseconds Redis spent in the commands the client sent,
over the batch's operations. A script's time (EVALSHA, EVAL, FCALL) includes the commands it calls,
which commandstats also lists on their own: when the batch ran scripts, only the scripts are summed
(adding their inner commands would count them twice). The two round trips of the bracket fall outside
the figure; they add two round trips to the client's time of the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Runner = Callable[[int], None]
SCRIPTS = ("evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro")
IGNORED = ("info", "config", "config|resetstat", "script", "script|load")


def server_usec(admin: Any) -> tuple[float, int]:
    """Microseconds Redis spent in the top-level commands since the last reset, and how many ran."""
    stats = {name.removeprefix("cmdstat_"): value for name, value in admin.info("commandstats").items()}
    scripts = {name: value for name, value in stats.items() if name in SCRIPTS}
    counted = scripts or {name: value for name, value in stats.items() if name not in IGNORED}
    return sum(float(v["usec"]) for v in counted.values()), sum(int(v["calls"]) for v in counted.values())


class ServerTime:
    """Per runner, the Redis microseconds per operation of each batch it ran (warm-up batches included)."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.batches: dict[str, list[float]] = {}

    def wrap(self, name: str, run: Runner) -> Runner:
        """``run`` bracketed by a reset and a read of the command stats."""
        batches = self.batches.setdefault(name, [])

        def timed(n: int) -> None:
            self.admin.config_resetstat()
            run(n)
            usec, _ = server_usec(self.admin)
            batches.append(usec / n)

        return timed

    def samples(self, rounds: int) -> dict[str, list[float]]:
        """The last ``rounds`` batches of each runner: the measured ones, after the warm-up."""
        return {name: values[-rounds:] for name, values in self.batches.items()}
