"""Ready-made checks for common dependencies, each a few lines on the plain-callable protocol.

Each returns a check function for :meth:`backendkit.health.Health.add`, which times
the round trip (``observedValue`` in ms) and lets any error become a ``fail`` whose
text is logged, never shown. Drivers are imported by the caller's objects, not here.

Example:
    >>> from backendkit.health import Health
    >>> health = Health()
    >>> health.add("cache:responseTime", timed(lambda: None), component_type="datastore")
    >>> health.ready().outcomes[0].result.observed_unit
    'ms'
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from backendkit.health._core.report import Result


def timed(probe: Callable[[], Any]) -> Callable[[], Result]:
    """A check that calls ``probe()`` and passes with its duration in ms (it fails by raising)."""

    def check() -> Result:
        started = time.perf_counter()
        probe()
        return Result.ok(round((time.perf_counter() - started) * 1000, 3), "ms")

    return check


def atimed(probe: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Result]]:
    """:func:`timed` for an async probe."""

    async def check() -> Result:
        started = time.perf_counter()
        await probe()
        return Result.ok(round((time.perf_counter() - started) * 1000, 3), "ms")

    return check


def redis_check(client: Any) -> Callable[[], Result]:
    """``PING`` through a ``redis.Redis`` client (give it a short ``socket_timeout``)."""
    return timed(client.ping)


def async_redis_check(client: Any) -> Callable[[], Awaitable[Result]]:
    """``PING`` through a ``redis.asyncio.Redis`` client, on the event loop."""
    return atimed(client.ping)


PROBE_KEY = "backendkit:health:probe"
"""The key a store check clears or releases: never a limit's nor an idempotency key's, so it changes nothing."""
_PROBE_LOCK = b"backendkit:health:probe"  # released only if the probe key held it: it never does


def store_check(store: Any) -> Callable[[], Result]:
    """A rate-limit store answering (``MemoryStore``, ``RedisStore``): one ``clear`` of a key no limit uses.

    A store that cannot answer raises :class:`~backendkit.stores.StoreUnavailable`: the
    check fails, whatever the limiter's ``on_store_error`` does with requests meanwhile.
    """
    return timed(lambda: store.clear([PROBE_KEY]))


def async_store_check(store: Any) -> Callable[[], Awaitable[Result]]:
    """:func:`store_check` for an ``AsyncRedisStore`` (or a ``MemoryStore``), on the event loop."""
    return atimed(lambda: store.aclear([PROBE_KEY]))


def idempotency_check(store: Any) -> Callable[[], Result]:
    """An idempotency store answering (``MemoryStore``, ``RedisStore`` from ``backendkit.idempotency.redis``).

    One ``release`` of a key no request uses, with a lock nobody holds: one round trip
    that changes nothing. A store that cannot answer raises
    :class:`~backendkit.stores.StoreUnavailable`: the check fails, whatever the
    ``on_store_error`` of :class:`~backendkit.idempotency.Idempotency` does meanwhile.

    Example:
        >>> from backendkit.idempotency import MemoryStore
        >>> idempotency_check(MemoryStore())().observed_unit
        'ms'
    """
    return timed(lambda: store.release(PROBE_KEY, _PROBE_LOCK))


def async_idempotency_check(store: Any) -> Callable[[], Awaitable[Result]]:
    """:func:`idempotency_check` for an ``AsyncRedisStore`` (or a ``MemoryStore``), on the event loop."""
    return atimed(lambda: store.arelease(PROBE_KEY, _PROBE_LOCK))


def revocations_check(revocations: Any) -> Callable[[], Result]:
    """A ``RedisRevocations`` list's Redis answering a ``PING`` (its own bounded client).

    A verifier with ``on_store_error="open"`` answers "not revoked" when Redis is down:
    the check asks Redis itself, so the probe tells the truth either way.
    """
    return timed(lambda: revocations.client.ping())


def async_revocations_check(revocations: Any) -> Callable[[], Awaitable[Result]]:
    """:func:`revocations_check` for an ``AsyncRedisRevocations`` (its client for the running loop)."""
    return atimed(lambda: revocations.client.ping())


def sqlalchemy_check(engine: Any) -> Callable[[], Result]:
    """``SELECT 1`` on a connection from a SQLAlchemy ``Engine``'s pool."""
    from sqlalchemy import text

    def probe() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return timed(probe)


def async_sqlalchemy_check(engine: Any) -> Callable[[], Awaitable[Result]]:
    """``SELECT 1`` on a connection from a SQLAlchemy ``AsyncEngine``, on the event loop."""
    from sqlalchemy import text

    async def probe() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return atimed(probe)


def django_database_check(alias: str = "default") -> Callable[[], Result]:
    """``SELECT 1`` on one of Django's database connections (run on the health thread pool)."""

    def probe() -> None:
        from django.db import connections

        connection = connections[alias]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            connection.close()  # the check's thread owns this connection: leave none behind

    return timed(probe)


__all__ = [
    "PROBE_KEY",
    "async_idempotency_check",
    "async_redis_check",
    "async_revocations_check",
    "async_sqlalchemy_check",
    "async_store_check",
    "atimed",
    "django_database_check",
    "idempotency_check",
    "redis_check",
    "revocations_check",
    "sqlalchemy_check",
    "store_check",
    "timed",
]
