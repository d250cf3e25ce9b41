"""The probes every example serves: ``/livez``, ``/readyz``, ``/startupz`` and ``/healthz``.

Readiness checks every store the example keeps state in: its tasks, the rate limit's
store, and, when ``BACKENDKIT_EXAMPLE_REDIS_URL`` is set, the Redis the revocation list,
the idempotency keys and the refresh-token families live in, each through its own
client, within 0.5 s; and the API key store, when ``BACKENDKIT_EXAMPLE_APIKEYS_URL``
names one (a read of a key no one has: one round trip that changes nothing). Details
are shown (``?verbose``) only when ``BACKENDKIT_EXAMPLE_HEALTH_DETAILS=1``: on a public
listener they stay off.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from backendkit.apikeys import APIKeyVerifier
from backendkit.auth import JWTVerifier, TokenIssuer
from backendkit.health import Health, Result
from backendkit.health.checks import (
    async_revocations_check,
    async_store_check,
    atimed,
    revocations_check,
    store_check,
    timed,
)
from backendkit.idempotency import Idempotency
from backendkit.ratelimit import Limit
from examples import _redis
from examples._tasks import TaskStore

STORE_TIMEOUT = 0.5
"""Seconds a store's check may take before readiness fails."""
PROBE = "healthProbe0"
"""The API key id and the subject the stores are read for: no key's (an id of 12 characters) nor anyone's."""


def health(
    store: TaskStore,
    *,
    limited: Limit,
    verifier: JWTVerifier,
    keys: Idempotency,
    asynchronous: bool,
    issuer: TokenIssuer | None = None,
    api_keys: APIKeyVerifier | None = None,
) -> Health:
    """The example's health: its tasks, and each store of the rate limit, the revocation list, the idempotency
    keys, the refresh-token families (``issuer``'s) and the API keys (``api_keys``'s)."""
    details = os.environ.get("BACKENDKIT_EXAMPLE_HEALTH_DETAILS") == "1"
    probes = Health(interval=1.0, verbose_query=details)
    probes.add("tasks:count", lambda: Result.ok(len(store.all()), "tasks"), component_type="component")
    check = async_store_check(limited.store) if asynchronous else store_check(limited.store)
    probes.add("ratelimit:responseTime", check, timeout=STORE_TIMEOUT, component_type="datastore")
    if _redis.url():  # in memory, the other two have nothing that could fail
        revoked = verifier.revocations
        check = async_revocations_check(revoked) if asynchronous else revocations_check(revoked)
        probes.add("revocations:responseTime", check, timeout=STORE_TIMEOUT, component_type="datastore")
        check = _ping(keys.store, asynchronous)
        probes.add("idempotency:responseTime", check, timeout=STORE_TIMEOUT, component_type="datastore")
        # (Not "refresh_tokens" nor "apikeys": the log's redaction hides what follows "...token:" or "...keys:",
        # and these names are in the line a failing check logs.)
        if issuer is not None and issuer.rotator is not None:
            families = issuer.rotator.store  # a read run in the health checks' threads, as every sync check
            check = timed(lambda: families.families(PROBE))
            probes.add("refresh_families:responseTime", check, timeout=STORE_TIMEOUT, component_type="datastore")
    if api_keys is not None:
        check = timed(lambda: api_keys.store.get(PROBE))
        probes.add("key_records:responseTime", check, timeout=STORE_TIMEOUT, component_type="datastore")
    return probes


def _ping(store: Any, asynchronous: bool) -> Callable[[], Result] | Callable[[], Awaitable[Result]]:
    # The idempotency store's own client (for the running event loop, when async).
    if asynchronous:
        return atimed(lambda: store.client.ping())
    return timed(lambda: store.client.ping())
