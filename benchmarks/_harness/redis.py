"""Redis for the benchmarks: a server of the run's own, connections that count round trips, Redis's own counts."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

from tests.support.redis import RedisServer, find_redis_server, start_redis

__all__ = ["RedisServer", "commands_run", "counting", "describe", "find_redis_server", "start_redis"]


def counting(connection_class: type[Any]) -> type[Any]:
    """``connection_class`` (sync or asyncio) counting what it sends in ``sent``: one send per round trip.

    Nothing is pipelined in the benchmarks, so a send is one command.
    """

    class Counting(connection_class):  # type: ignore[misc]
        sent = 0

        def send_packed_command(self, command: Any, check_health: bool = True) -> Any:
            Counting.sent += 1
            return super().send_packed_command(command, check_health)  # the asyncio one's coroutine, awaited there

    return Counting


def _command_stats(admin: Any) -> Counter[str]:
    stats = admin.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()})


@contextlib.contextmanager
def commands_run(admin: Any) -> Iterator[Counter[str]]:
    """What Redis ran inside the block, by command (INFO and CONFIG left out), filled when the block ends.

    These are Redis's own counts (INFO commandstats): the commands a Lua script calls count there too.
    """
    ran: Counter[str] = Counter()
    before = _command_stats(admin)
    yield ran
    for name, calls in _command_stats(admin).items():
        if name not in ("info", "config") and not name.startswith("config|") and calls - before[name]:
            ran[name] = calls - before[name]


def describe(admin: Any, where: str) -> str:
    """``redis-server <version> on <where> (no persistence); redis-py parser: ...``."""
    import redis

    version = admin.info("server")["redis_version"]
    parser = "hiredis" if redis.utils.HIREDIS_AVAILABLE else "pure Python (hiredis not installed)"
    return f"redis-server {version} on {where} (no persistence); redis-py parser: {parser}"
