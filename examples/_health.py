"""The probes every example serves: ``/livez``, ``/readyz``, ``/startupz`` and ``/healthz``.

Readiness checks the example's own stores (its tasks, and the rate limit's) and, when ``BACKENDKIT_EXAMPLE_REDIS_URL``
is set, that Redis answers a ``PING`` within 0.5 s. Details are shown (``?verbose``)
only when ``BACKENDKIT_EXAMPLE_HEALTH_DETAILS=1``: on a public listener they stay off.
"""

from __future__ import annotations

import os

from backendkit.health import Health, Result
from backendkit.health.checks import async_redis_check, async_store_check, redis_check, store_check
from backendkit.ratelimit import Limit
from examples._tasks import TaskStore


def health(store: TaskStore, limited: Limit, *, asynchronous: bool) -> Health:
    """The example's health: its task store, the rate-limit store of ``/limited``, and Redis when configured."""
    details = os.environ.get("BACKENDKIT_EXAMPLE_HEALTH_DETAILS") == "1"
    probes = Health(interval=1.0, verbose_query=details)
    probes.add("tasks:count", lambda: Result.ok(len(store.all()), "tasks"), component_type="component")
    check = async_store_check(limited.store) if asynchronous else store_check(limited.store)
    probes.add("ratelimit:responseTime", check, component_type="datastore")
    url = os.environ.get("BACKENDKIT_EXAMPLE_REDIS_URL")
    if url:
        import redis
        import redis.asyncio

        if asynchronous:
            client = redis.asyncio.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            probes.add("redis:responseTime", async_redis_check(client), timeout=0.5, component_type="datastore")
        else:
            sync_client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            probes.add("redis:responseTime", redis_check(sync_client), timeout=0.5, component_type="datastore")
    return probes
