"""Redis clients a store can wait on: every wait bounded by the store's timeout, no retries.

Shared by every Redis store of the kernel (rate limits, idempotency keys,
revocation lists). A rate limiter (or a
revocation check) that waits for a dead Redis slows every request down, so a store
never lets a check wait longer than its ``timeout``. redis-py's defaults do not
agree: ``redis.Redis()`` retries a failed connection three times with back-off
(4 to 9 s on a stopped server), and has no connect timeout. So a store takes an
application's client as a description of where Redis is and how to talk to it,
and uses it as it is only when its own settings already bound every wait;
otherwise it opens connections of its own, with the same settings but for the
timeouts (at most ``timeout``) and the retries (none).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.cluster
import redis.connection
import redis.retry
from redis.backoff import NoBackoff

from backendkit.errors import ConfigurationError

# Short by default: a rate limiter that waits for a dead Redis slows every request down.
DEFAULT_TIMEOUT = 0.25
_TIMEOUTS = ("socket_timeout", "socket_connect_timeout", "orig_socket_timeout", "orig_socket_connect_timeout")
_CLUSTERS: tuple[type[Any], ...] = (redis.cluster.RedisCluster, redis.asyncio.cluster.RedisCluster)
_parse_url: Callable[[str], object] = redis.connection.parse_url  # (untyped in redis-py)


def check_timeout(timeout: float) -> float:
    """``timeout`` if it is a positive number of seconds; a ``ConfigurationError`` otherwise."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ConfigurationError(f"timeout is a positive number of seconds, not {timeout!r}")
    return float(timeout)


def checked_url(url: object) -> str:
    """``url`` if redis-py can connect to it; a ``ConfigurationError`` now (a scheme, a port...) otherwise."""
    if not isinstance(url, str):
        raise ConfigurationError(f"a Redis URL is a string, not {url!r}")
    try:
        _parse_url(url)
    except ValueError as exc:  # an unknown scheme, a bad port...
        raise ConfigurationError(f"not a Redis URL: {exc}") from exc
    return url


def client_from_url(url: str, timeout: float, *, asyncio: bool) -> Any:
    """A client for ``url`` whose connects and reads wait at most ``timeout``, with no retries."""
    module: Any = redis.asyncio if asyncio else redis
    return module.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=_no_retry(asyncio=asyncio)
    )


def bounded_client(client: Any, timeout: float) -> Callable[[], Any]:
    """What makes the store's client from ``client``: a function, since an asyncio one belongs to one loop.

    Returns a function giving ``client`` itself when its settings already bound every wait
    by ``timeout``; else one that builds a client with the same settings, bounded timeouts
    and no retries (a new one per call: the async store calls it once per event loop).

    Raises:
        ConfigurationError: ``client`` could wait longer and cannot be copied (a Redis
            Cluster client, a Sentinel-managed pool, a pool class of your own).
    """
    copy: Callable[[], Any] | None = None
    if isinstance(client, (redis.Redis, redis.asyncio.Redis)):  # (a Cluster client is neither)
        pool = client.connection_pool
        module: Any = redis.asyncio if isinstance(client, redis.asyncio.Redis) else redis
        if type(pool) in (module.ConnectionPool, module.BlockingConnectionPool):
            copy = lambda: module.Redis.from_pool(_bounded_pool(pool, timeout))  # noqa: E731  (owns its pool)
    if _is_bounded(client, timeout):
        return _itself_first(client, copy)
    if copy is not None:
        return copy
    raise ConfigurationError(
        f"this {type(client).__name__} could keep a check waiting on a dead Redis for longer than {timeout} s "
        f"(its timeouts or retries), and a store can only copy a plain redis.Redis: give it "
        f"socket_timeout={timeout}, socket_connect_timeout={timeout} and retry=Retry(NoBackoff(), 0) "
        f"(redis.asyncio.retry.Retry for an asyncio client), "
        f"or pass a URL"
    )


def _itself_first(client: Any, copy: Callable[[], Any] | None) -> Callable[[], Any]:
    """``client`` on the first call; a copy on each later one (an asyncio client works on one loop only).

    A client that cannot be copied (a Cluster client) is given every time: give each
    event loop a store of its own, or a URL, when one process runs several loops.
    """
    given = [client]

    def make() -> Any:
        if given:
            return given.pop()
        return client if copy is None else copy()

    return make


def forget_closed_loops(per_loop: MutableMapping[asyncio.AbstractEventLoop, Any]) -> None:
    """Drop the clients of event loops closed since (an async store keeps one client per loop).

    A loop's client keeps its loop alive (its connections refer to it), so a weak key
    alone never lets go: Django serves each async view under WSGI on a loop of its own,
    and each would leave a client and a connection behind. The sockets of the clients
    dropped here are closed when they are collected.
    """
    for closed in [loop for loop in per_loop if loop.is_closed()]:
        del per_loop[closed]


def _no_retry(*, asyncio: bool) -> Any:
    """A retry policy of none, of the client's own kind.

    redis-py's asyncio clients take ``redis.asyncio.retry.Retry`` (they await its
    ``call_with_retry``); since redis-py 8.2 a synchronous one given to them is
    converted with a ``UserWarning``, a stray plain-text line in a JSON log.
    """
    module: Any = redis.asyncio.retry if asyncio else redis.retry
    return module.Retry(NoBackoff(), 0)


def _settings_of(client: Any) -> tuple[Mapping[str, Any], Any]:
    """The connection settings of ``client`` and the retry its commands go through."""
    if isinstance(client, _CLUSTERS):
        return client.nodes_manager.connection_kwargs, client.retry
    kwargs = client.connection_pool.connection_kwargs
    return kwargs, kwargs.get("retry")


def _is_bounded(client: Any, timeout: float) -> bool:
    try:
        kwargs, retry = _settings_of(client)
    except AttributeError:  # not a redis-py client we know: judged by what it can be asked
        return False
    waits = [kwargs.get("socket_timeout"), kwargs.get("socket_connect_timeout")]
    if any(wait is None or wait > timeout for wait in waits):
        return False
    if retry is not None and _retries_of(retry) != 0:
        return False
    pool_wait = getattr(getattr(client, "connection_pool", None), "timeout", 0)  # a blocking pool's wait
    return pool_wait is not None and pool_wait <= timeout


def _retries_of(retry: Any) -> Any:
    """How many times ``retry`` retries: ``get_retries()`` from redis-py 6.0 on, the attribute it reads before."""
    get_retries = getattr(retry, "get_retries", None)
    return get_retries() if get_retries is not None else getattr(retry, "_retries", None)


def _bounded_pool(pool: Any, timeout: float) -> Any:
    kwargs = dict(pool.connection_kwargs)
    for name in _TIMEOUTS:
        given = kwargs.get(name)
        if name.startswith("socket") or name in kwargs:
            kwargs[name] = timeout if given is None else min(given, timeout)
    kwargs["retry"] = _no_retry(asyncio=isinstance(pool, redis.asyncio.ConnectionPool))
    kwargs.pop("retry_on_timeout", None)
    kwargs["retry_on_error"] = []
    extra: dict[str, Any] = {"connection_class": pool.connection_class, "max_connections": pool.max_connections}
    if hasattr(pool, "timeout"):  # a BlockingConnectionPool: its wait for a free connection is bounded too
        extra["timeout"] = timeout if pool.timeout is None else min(pool.timeout, timeout)
    return type(pool)(**extra, **kwargs)
