"""``RedisConnection``: a store's sync Redis client, its error mapping and its retry rule (see ``_calls.py``)."""

from __future__ import annotations

import weakref
from typing import Any

import redis.asyncio

from backendkit.errors import ConfigurationError
from backendkit.stores.redis._calls import Call, Script
from backendkit.stores.redis._clients import (
    DEFAULT_TIMEOUT,
    bounded_client,
    check_timeout,
    checked_url,
    client_from_url,
)


class RedisConnection:
    """What a sync Redis store is built on: a client whose every wait is bounded, and one way to call it.

    Args:
        client: A URL (``redis://``, ``rediss://``, ``unix://``; checked now), or a
            ``redis.Redis`` or ``RedisCluster`` client.
        timeout: The longest each wait on Redis lasts, in seconds. A client whose
            own waits are longer, or that retries (as ``redis.Redis()`` does by
            default), lends the store its settings and the store opens connections
            of its own; a Cluster client must bound its waits itself (a
            ``ConfigurationError`` says how).

    :meth:`close` closes the connections the store opened; a client used as it is
    stays the application's, to close.
    """

    def __init__(self, client: Any, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        name = type(self).__name__
        if isinstance(client, (redis.asyncio.Redis, redis.asyncio.RedisCluster)):
            raise ConfigurationError(f"{name} needs a sync client; an asyncio one goes to Async{name}")
        self.timeout = check_timeout(timeout)
        if isinstance(client, str):
            self.client: Any = client_from_url(checked_url(client), self.timeout, asyncio=False)
        else:
            self.client = bounded_client(client, self.timeout)()
        self._owned = self.client is not client
        if self._owned:  # connections of the store's own: closed with it, at the latest
            weakref.finalize(self, self.client.close)

    def call(self, *command: Any, script: Script | None = None, repeatable: bool = False) -> Any:
        """Send ``command``: its reply, or StoreUnavailable (see :class:`~backendkit.stores.redis._calls.Call`)."""
        client, call = self.client, Call(command, script, repeatable)
        while True:
            try:
                return call.send(client)
            except Exception as exc:
                call.failed(exc)  # raises, unless the call goes again

    def close(self) -> None:
        """Close the connections the store opened (never a client the application gave as it is)."""
        if self._owned:
            self.client.close()


__all__ = ["RedisConnection"]
