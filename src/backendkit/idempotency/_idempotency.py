"""The :class:`Idempotency` object: a key's lock, the handler's response kept, a retry's replay.

The shell around the pure parts (the key parser, the fingerprint, the records and
the policy): it makes lock tokens, calls the store, and applies the outage policy
(``on_store_error``, with the store kernel's breaker). Each sync method and its async
twin only call the store: the steps before and after are shared and do no I/O.
Adapters give it a :class:`KeyedRequest` before the handler and the response after.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from backendkit._deprecation import RenamedAttribute
from backendkit.errors import ConfigurationError, ServiceUnavailable
from backendkit.idempotency._core.errors import IdempotencyKeyInUse, IdempotencyKeyMismatch, IdempotencyKeyMissing
from backendkit.idempotency._core.fingerprint import fingerprint, storage_key
from backendkit.idempotency._core.key import parse_key
from backendkit.idempotency._core.policy import UNSTORED_STATUSES, found, principal_scope, storable
from backendkit.idempotency._core.record import RECORD, StoredResponse, kept_headers, lock_value, record_value
from backendkit.idempotency._core.store import AsyncIdempotencyStore, IdempotencyStore, StoreUnavailable, not_a_store
from backendkit.idempotency._outcomes import REPLAYED, Attempt, KeyedRequest, Replay, Replays
from backendkit.idempotency._stores.memory import MemoryStore
from backendkit.observability._core.events import (
    IdempotencyBegun,
    IdempotencyEnd,
    IdempotencyFinished,
    IdempotencyOutcome,
)
from backendkit.observability._hub import hub
from backendkit.stores import Breaker, OnStoreError
from backendkit.stores._outage import on_store_error_from, without_store

logger = logging.getLogger("backendkit.idempotency")
OnError = OnStoreError  # its old name
DEFAULT_PREFIX = "backendkit:idempotency:"


class Idempotency:
    """Idempotency keys for one application: which requests, which store, what is kept and for how long.

    Args:
        store: A :class:`~backendkit.idempotency.MemoryStore` or a Redis store (sync for
            Flask and sync Django views, async for ASGI and async views).
        methods: The methods a key applies to (POST and PATCH by default; never GET, HEAD, OPTIONS).
        required: Whether a request without a key is refused (400 ``IDEMPOTENCY_KEY_MISSING``);
            otherwise it runs as usual, without idempotency.
        ttl: Seconds a response is kept for the retries (24 h).
        lock_ttl: Seconds a first request holds its key; a worker that dies holding it
            frees it after this (60 s). Keep it above your slowest handler.
        max_size: The largest body kept, in bytes (1 MiB); a larger one is sent but not kept.
        keep_set_cookie: Whether ``Set-Cookie`` is kept and replayed (off: a replay must not
            hand out another session's cookie).
        store_server_errors: Whether 5xx answers are kept (off: a retry runs again).
        on_store_error: When the store cannot answer: ``"closed"`` (the default) answers 503
            (``Retry-After: 1``): a retried payment must not run twice because Redis was down;
            ``"open"`` runs the request without idempotency. Either way logged once per outage.
            ``on_error`` is its deprecated old name.
        retry_interval: Seconds between tries of a failed store: meanwhile requests get the
            policy's answer at once, and one request per interval tries the store (the breaker).
        prefix: Prepended to the store's keys.
        api_key_header: The header naming an API key's holder, for the scope of keys sent
            by clients without a user (``None`` to ignore).
        scope: ``scope(request) -> str``, whose keys a request's are; by default the user
            (``set_user_id``, which backendkit's authentication sets), else the API key, else
            the client's address.

    Example:
        >>> from backendkit.idempotency import Idempotency, KeyedRequest, MemoryStore
        >>> keys = Idempotency(MemoryStore())
        >>> request = KeyedRequest("POST", "/payments", "", "application/json", b'{"eur": 5}', ['"a1"'])
        >>> attempt = keys.start(request)
        >>> keys.finish(attempt, 201, [("Content-Type", "application/json")], b'{"id": 1}')
        >>> keys.start(request).response.status
        201
    """

    on_error = RenamedAttribute("on_error", "on_store_error")

    def __init__(
        self,
        store: Any,
        *,
        methods: Iterable[str] = ("POST", "PATCH"),
        required: bool = False,
        ttl: float = 86_400.0,
        lock_ttl: float = 60.0,
        max_size: int = 1 << 20,
        keep_set_cookie: bool = False,
        store_server_errors: bool = False,
        unstored: Iterable[int] = UNSTORED_STATUSES,
        on_store_error: OnStoreError = "closed",
        prefix: str = DEFAULT_PREFIX,
        api_key_header: str | None = "X-API-Key",
        request_id_header: str = "X-Request-ID",
        scope: Callable[[KeyedRequest], str] | None = None,
        retry_interval: float = 1.0,
        on_error: OnStoreError | None = None,
    ) -> None:
        if not isinstance(store, (IdempotencyStore, AsyncIdempotencyStore)):
            raise ConfigurationError(not_a_store(store))
        self.methods = frozenset(m.upper() for m in methods)
        if self.methods & {"GET", "HEAD", "OPTIONS", "TRACE"}:
            raise ConfigurationError("idempotency keys are for unsafe methods; GET, HEAD, OPTIONS and TRACE are safe")
        for name, value in (("ttl", ttl), ("lock_ttl", lock_ttl)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ConfigurationError(f"{name} is a positive number of seconds, not {value!r}")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
            raise ConfigurationError(f"max_size is a number of bytes, not {max_size!r}")
        self.on_store_error = on_store_error_from(on_store_error, on_error)
        self.breaker = Breaker(retry_interval, logger=logger.name, what="the idempotency store", store="idempotency")
        self.store: Any = store  # (sync, async or both: require_sync/require_async say which is needed)
        # Known once: an isinstance() of a runtime-checkable protocol costs 4.2 us on Python 3.11 here,
        # and the ASGI adapter asks on every request whether to await the store or use a thread.
        self.store_awaits = isinstance(store, AsyncIdempotencyStore)
        # A MemoryStore's async methods never wait: async code may call its sync ones, and spare the
        # coroutines (a replay through the ASGI middleware: 0.6 us of its 18, benchmarks/idempotency_bench.py).
        self.store_inline = type(store) is MemoryStore
        self.required = required
        self.ttl_ms = math.ceil(ttl * 1000)
        self.lock_ms = math.ceil(lock_ttl * 1000)
        self.max_size = max_size
        self.keep_set_cookie = keep_set_cookie
        self.store_server_errors = store_server_errors
        self.unstored = frozenset(unstored)
        self.prefix = prefix
        self.api_key_header = api_key_header
        self.request_id_header = request_id_header
        self._scope = scope or _default_scope
        self._replays = Replays()  # each record decoded once, not on every retry

    def require_sync(self) -> None:
        """Raise ``ConfigurationError`` unless the store serves sync code (Flask, sync Django views)."""
        if not isinstance(self.store, IdempotencyStore):
            raise ConfigurationError(f"{type(self.store).__name__} is for async code; sync code needs a sync store")

    def require_async(self) -> None:
        """Raise ``ConfigurationError`` unless the store serves async code (ASGI, async Django views)."""
        if not self.store_awaits:
            raise ConfigurationError(f"{type(self.store).__name__} would block the event loop; use an async store")

    def applies(self, method: str) -> bool:
        """Whether requests with ``method`` take part."""
        return method.upper() in self.methods

    # Before the handler -----------------------------------------------------------------------

    def _attempt(self, request: KeyedRequest, required: bool | None) -> Attempt | None:
        """What to ask the store for (``None``: run as usual: no key, or no store meanwhile and failing open)."""
        key = parse_key(request.key_values)
        if key is None:
            if self.required if required is None else required:
                raise IdempotencyKeyMissing()
            return None
        if not self.breaker.usable():  # the store is down: the policy answers at once
            self._unavailable(None)
            return None
        print_ = fingerprint(request.method, request.path, request.query, request.content_type, request.body)
        where = storage_key(self.prefix, self._scope(request), request.method, request.path, key)
        return Attempt(where, lock_value(print_, os.urandom(16).hex()), print_)  # (secrets.token_hex's, inline)

    def start(self, request: KeyedRequest, *, required: bool | None = None) -> Attempt | Replay | None:
        """Before the handler: an :class:`Attempt` (run it), a :class:`Replay`, or ``None`` (no key: run as usual).

        Raises:
            IdempotencyKeyMissing: no key where one is required (400).
            IdempotencyKeyInvalid: not one well-formed key (400).
            IdempotencyKeyMismatch: the key belongs to another request (422).
            IdempotencyKeyInUse: the key's first request still runs (409).
            ServiceUnavailable: the store is down, or holds a value that is not ours, and
                ``on_store_error`` is ``"closed"`` (503).
        """
        attempt = self._attempt(request, required)
        if attempt is None:
            return None
        started = time.perf_counter() if hub.observers else 0.0
        try:
            value, _ = self.store.begin(attempt.key, attempt.lock, self.lock_ms)
        except StoreUnavailable as exc:
            self._unavailable(exc)
            return None
        return self._outcome(value, attempt, started)

    async def astart(self, request: KeyedRequest, *, required: bool | None = None) -> Attempt | Replay | None:
        """:meth:`start` for async code."""
        attempt = self._attempt(request, required)
        if attempt is None:
            return None
        started = time.perf_counter() if hub.observers else 0.0
        try:
            value, _ = await self.store.abegin(attempt.key, attempt.lock, self.lock_ms)
        except StoreUnavailable as exc:
            self._unavailable(exc)
            return None
        return self._outcome(value, attempt, started)

    def _outcome(self, value: bytes | None, attempt: Attempt, started: float) -> Attempt | Replay | None:
        self.breaker.answered()
        if value is not None and value[:1] == RECORD:  # a retry: its record likely decoded already
            known = self._replays.get(value)
            if known is not None and known[0] == attempt.fingerprint:  # (another fingerprint: the 422 below)
                if started:
                    _begun("replay", started)
                return known[1]
        try:
            response = found(value, attempt.fingerprint)
        except IdempotencyKeyInUse:
            if started:
                _begun("in_use", started)
            raise
        except IdempotencyKeyMismatch:
            if started:
                _begun("mismatch", started)
            raise
        except ValueError:  # not a lock or a record of ours (written by hand, or by something else)
            logger.error("the idempotency store holds a value that is not ours under %s", attempt.key)
            if started:
                _begun("store_error", started)
            if self.on_store_error == "closed":
                raise ServiceUnavailable(headers={"Retry-After": "1"}) from None
            return None  # (open: run the request without idempotency)
        if started:
            _begun("first_run" if response is None else "replay", started)
        if response is None or value is None:  # (a response comes from a value)
            return attempt
        replay = Replay(response)
        self._replays.add(value, attempt.fingerprint, replay)
        return replay

    # After the handler ------------------------------------------------------------------------

    def _record(
        self, attempt: Attempt, status: int, headers: Iterable[tuple[str, str]], body: bytes | None
    ) -> bytes | None:
        size = None if body is None else len(body)
        if body is None or not storable(
            status, size, max_size=self.max_size, store_server_errors=self.store_server_errors, unstored=self.unstored
        ):
            return None
        kept = kept_headers(headers, keep_set_cookie=self.keep_set_cookie, request_id_header=self.request_id_header)
        return record_value(attempt.fingerprint, StoredResponse(status, kept, body))

    def finish(self, attempt: Attempt, status: int, headers: Iterable[tuple[str, str]], body: bytes | None) -> None:
        """After the handler: keep its response for the retries, or release the key (``body`` ``None``: streamed)."""
        self._end(attempt, self._record(attempt, status, headers, body))

    async def afinish(
        self, attempt: Attempt, status: int, headers: Iterable[tuple[str, str]], body: bytes | None
    ) -> None:
        """:meth:`finish` for async code."""
        await self._aend(attempt, self._record(attempt, status, headers, body))

    def abandon(self, attempt: Attempt) -> None:
        """The handler raised before any response: release the key, so a retry runs again."""
        self._end(attempt, None)

    async def aabandon(self, attempt: Attempt) -> None:
        """:meth:`abandon` for async code."""
        await self._aend(attempt, None)

    def _end(self, attempt: Attempt, record: bytes | None) -> None:
        # Keep ``record`` under the attempt's key, or release the key when it is None. Always
        # asked, whatever the breaker says: this request holds the lock, and a record not kept
        # (or a lock not released) would turn its retries into 409s, then a second run.
        started = time.perf_counter() if hub.observers else 0.0
        try:
            kept = self._keep(attempt, record) if record is not None else self.store.release(attempt.key, attempt.lock)
        except StoreUnavailable as exc:
            self.breaker.failed(exc, "a response was not kept")
            if started:
                _finished("store_error", started)
            return
        if started:
            _finished("released" if record is None else "stored", started)
        self._ended(attempt, kept)

    async def _aend(self, attempt: Attempt, record: bytes | None) -> None:
        started = time.perf_counter() if hub.observers else 0.0
        try:
            kept = await (
                self._akeep(attempt, record) if record is not None else self.store.arelease(attempt.key, attempt.lock)
            )
        except StoreUnavailable as exc:
            self.breaker.failed(exc, "a response was not kept")
            if started:
                _finished("store_error", started)
            return
        if started:
            _finished("released" if record is None else "stored", started)
        self._ended(attempt, kept)

    def _keep(self, attempt: Attempt, record: bytes) -> bool:
        return bool(self.store.finish(attempt.key, attempt.lock, record, self.ttl_ms))

    async def _akeep(self, attempt: Attempt, record: bytes) -> bool:
        return bool(await self.store.afinish(attempt.key, attempt.lock, record, self.ttl_ms))

    # The outage policy ------------------------------------------------------------------------

    def _unavailable(self, exc: StoreUnavailable | None) -> None:
        """No store to ask: 503 when closed; open, the request runs without idempotency."""
        if hub.observers:
            hub.emit(IdempotencyBegun("store_error", 0.0))
        without_store(self.breaker, exc, self.on_store_error)

    def _ended(self, attempt: Attempt, kept: bool | None) -> None:
        self.breaker.answered()
        if kept is False:
            _lost(attempt)


def _begun(outcome: IdempotencyOutcome, started: float) -> None:
    hub.emit(IdempotencyBegun(outcome, time.perf_counter() - started))


def _finished(outcome: IdempotencyEnd, started: float) -> None:
    hub.emit(IdempotencyFinished(outcome, time.perf_counter() - started))


def _lost(attempt: Attempt) -> None:
    logger.warning("an idempotency lock expired before its request finished; raise lock_ttl (key %s)", attempt.key)


def _default_scope(request: KeyedRequest) -> str:
    return principal_scope(request.user_id, request.api_key, request.client)


__all__ = ["DEFAULT_PREFIX", "REPLAYED", "Attempt", "Idempotency", "KeyedRequest", "OnError", "Replay"]
