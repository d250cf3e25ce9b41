"""``RedisStore`` and ``AsyncRedisStore``: one Lua script, one round trip per check.

Both run the same script (``lua/check.lua``, the twin of ``_algorithms.py``) on the
store kernel (:mod:`backendkit.stores.redis`), which owns the clients, sends the
script by SHA (loading it on NOSCRIPT), maps every driver error to
:class:`~backendkit.stores.StoreUnavailable` and bounds the checks in flight. What is
left here is the codec: the script's arguments (encoded once per limiter) and its
reply. The clock is Redis ``TIME``, read inside the script.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from backendkit._extras import require
from backendkit.ratelimit._core.algorithms import Spec, Step, TokenBucketSpec

require("redis", extra="redis", module="backendkit.ratelimit (Redis stores)")

from backendkit.stores.redis import AsyncRedisConnection, RedisConnection, Script  # noqa: E402

CHECK = Script(files("backendkit.ratelimit._stores").joinpath("lua/check.lua").read_text(encoding="utf-8"))
SCRIPT, SHA = CHECK.text, CHECK.sha


# A policy's spec as the script unpacks it (struct "<Bddd": kind, limit, window, burst): Redis reads
# it in a fifth of the time string.match and tonumber take over the same numbers as text.
_SPEC = struct.Struct("<Bddd")


def script_args(specs: Sequence[Spec], cost: int, op: str, now: int | None = None) -> list[bytes]:
    """The script's ARGV for one check. ``now`` is for tests of the arithmetic only; production sends none."""
    args = [op.encode("ascii"), str(cost).encode("ascii")]
    for spec in specs:
        if isinstance(spec, TokenBucketSpec):
            args.append(_SPEC.pack(1, spec.limit, spec.window, spec.burst))
        else:
            args.append(_SPEC.pack(2, spec.limit, spec.window, 0))
    if now is not None:
        args.append(str(now).encode("ascii"))
    return args


def parse_reply(reply: Any) -> list[Step]:
    """The script's reply (four integers per policy) as steps; the states stay in Redis."""
    return [
        Step(reply[i] == 1, reply[i + 1], reply[i + 2], None if reply[i + 3] < 0 else reply[i + 3], ())
        for i in range(0, len(reply), 4)
    ]


class _EncodedArgs:
    """The ARGV of the last check, encoded: the same limiter sends the same arguments again and again.

    Kept as bytes, which redis-py sends as they are instead of converting every
    number on every call.
    """

    _last: tuple[Sequence[Spec], int, str, list[bytes]] | None = None

    def args(self, specs: Sequence[Spec], cost: int, op: str, now: int | None) -> list[bytes]:
        last = self._last
        if now is None and last is not None and last[0] is specs and last[1] == cost and last[2] == op:
            return last[3]
        args = script_args(specs, cost, op, now)
        if now is None:
            self._last = (specs, cost, op, args)  # holds ``specs``: its identity cannot be reused meanwhile
        return args


class RedisStore(_EncodedArgs, RedisConnection):
    """Rate-limit state in Redis, for many processes (redis-py, sync).

    Args:
        client: A URL such as ``"redis://localhost:6379/0"``, or a ``redis.Redis``
            (or ``RedisCluster``) client.
        timeout: The longest a check waits on Redis, in seconds, for a connection
            or a reply. A dead Redis costs a check at most this, whatever the
            client: a client whose own timeouts are longer, or that retries (as
            ``redis.Redis()`` does by default), lends the store its settings and
            the store opens connections of its own, with this timeout and no
            retries. A Cluster client must bound its waits itself (a
            ``ConfigurationError`` says how).

    Every key carries a TTL equal to how long its state matters. Driver errors
    (Cluster and Sentinel ones included) become :class:`~backendkit.stores.StoreUnavailable`
    (``StoreError``), which the limiter's ``on_store_error`` handles. :meth:`close`
    closes the connections the store opened, never a client given as it is.
    """

    def apply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """One atomic check: one EVALSHA, whatever the number of policies."""
        return self._apply(keys, specs, cost, op, None)

    def _apply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str, now: int | None) -> list[Step]:
        args = self.args(specs, cost, op, now)
        return parse_reply(self.call("EVALSHA", SHA, len(keys), *keys, *args, script=CHECK))

    def clear(self, keys: Sequence[str]) -> None:
        """Delete ``keys``."""
        self.call("DEL", *keys, repeatable=True)


class AsyncRedisStore(_EncodedArgs, AsyncRedisConnection):
    """:class:`RedisStore` for asyncio (``redis.asyncio``): never blocks the event loop.

    Args:
        client: A URL, or a ``redis.asyncio.Redis`` (or ``RedisCluster``) client.
        timeout: The longest a check waits on Redis for a connection or a reply
            (see :class:`RedisStore`: a client that could wait longer lends its
            settings, and the store opens connections of its own).

    The store keeps one client per event loop (an asyncio connection belongs to
    the loop that opened it, and Django runs each async view served over WSGI on
    a loop of its own), except for a client given with bounded settings, which
    is used as it is, on the loop it belongs to. On each loop at most 100 checks
    are in flight, so at most 100 connections; a loop starts with 4 and lets one
    more in each time a check succeeds while others wait, so a burst on a cold
    worker opens connections as fast as they prove to work rather than all at
    once. A check beyond them waits its turn (up to 2 s); when Redis cannot be
    reached, every waiting check fails over at once. A check whose timeout fired
    late, because the loop was too busy to read the reply in time, tries once more.

    Close it with :meth:`aclose` on the loop that used it (in a lifespan handler).
    """

    retry_late_timeouts = True  # a blocked loop delays checks, it does not fail them open

    async def aapply(self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str) -> list[Step]:
        """One atomic check: one EVALSHA, whatever the number of policies."""
        return await self._aapply(keys, specs, cost, op, None)

    async def _aapply(
        self, keys: Sequence[str], specs: Sequence[Spec], cost: int, op: str, now: int | None
    ) -> list[Step]:
        args = self.args(specs, cost, op, now)
        # A retried check that Redis did run counts twice (stricter); a refund given twice would loosen.
        late_retry = op != "refund"
        return parse_reply(
            await self.acall("EVALSHA", SHA, len(keys), *keys, *args, script=CHECK, late_retry=late_retry)
        )

    async def aclear(self, keys: Sequence[str]) -> None:
        """Delete ``keys``."""
        await self.acall("DEL", *keys, repeatable=True)
