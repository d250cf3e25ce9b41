"""The :class:`APIKeyVerifier`: the shell around the key check; it reads the clock, the cache and the store.

A valid key is checked from the cache (no store round trip) for ``cache_ttl``
seconds after it was read; a miss costs one ``get``. The store's outage policy
is the revocation lists': ``"closed"`` answers a 503 when a key must be read
and the store cannot answer; ``"open"`` accepts a key from the cache however
old its entry (a key never seen still gets the 503: there is nothing to check
it against).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable

from backendkit.apikeys._core.cache import RecordCache
from backendkit.apikeys._core.check import principal_of, refusal
from backendkit.apikeys._core.record import KeyRecord
from backendkit.apikeys._stores.memory import KeyStore
from backendkit.auth import InvalidToken, Principal, Roles
from backendkit.auth._core.opaque import OpaqueFormat, Parsed, digest, pepper_bytes
from backendkit.errors import ConfigurationError
from backendkit.stores import Breaker, OnStoreError, StoreUnavailable
from backendkit.stores._core import check_on_store_error
from backendkit.stores._outage import without_store

logger = logging.getLogger("backendkit.auth")

DEFAULT_PREFIXES = ("bk_live_", "bk_test_")
UNKNOWN_SIZE = 1024
"""Unknown ids remembered at most (apart from the known keys' cache)."""
DEFAULT_CACHE_TTL = 5.0
"""Seconds a key read from the store is trusted: how long a revocation made elsewhere may take to be seen."""


def formats(prefixes: str | Iterable[str]) -> tuple[OpaqueFormat, ...]:
    """The key formats of ``prefixes`` (a ``ConfigurationError`` for a bad one, or none)."""
    names = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
    try:
        made = tuple(OpaqueFormat(prefix) for prefix in names)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    if not made:
        raise ConfigurationError("API keys need at least one prefix")
    return made


class APIKeyVerifier:
    """Checks presented API keys and returns the :class:`~backendkit.auth.Principal` of each.

    Args:
        store: Where the key records are (``MemoryKeyStore``, ``RedisKeyStore``, ``SQLKeyStore``...).
        prefixes: The key prefixes accepted (``bk_live_``, ``bk_test_``).
        pepper: The server-side secret digests are keyed with, if the keys were made with one.
        roles: The role policy that turns a key's roles into permissions.
        cache_ttl: Seconds a record read from the store is trusted (0: the store is asked every time).
        cache_size: Records held at most.
        clock: The time, in seconds since the epoch.
        on_store_error: ``"closed"`` (a 503 when the store is needed and down) or ``"open"``
            (cached keys keep working, however old their entry).
        retry_interval: Seconds between tries of a failed store.

    Example:
        >>> from backendkit.apikeys import APIKeys, MemoryKeyStore
        >>> keys = APIKeys(MemoryKeyStore(), prefix="bk_test_")
        >>> made = keys.create("alice", roles=["viewer"])
        >>> keys.verifier().verify(made.key).subject
        'alice'
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        prefixes: str | Iterable[str] = DEFAULT_PREFIXES,
        pepper: str | bytes | None = None,
        roles: Roles | None = None,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
        on_store_error: OnStoreError | None = None,
        retry_interval: float = 1.0,
    ) -> None:
        if not isinstance(store, KeyStore):
            raise ConfigurationError(f"store is a key store (MemoryKeyStore, RedisKeyStore...), not {store!r}")
        self.store = store
        # Longest first: with "sk_" and "sk_live_" both accepted, an sk_live_ key is read as one.
        self.formats = tuple(sorted(formats(prefixes), key=lambda fmt: -len(fmt.prefix)))
        self.pepper = pepper_bytes(pepper)
        self.roles = roles
        try:
            self.cache: RecordCache[KeyRecord] = RecordCache(cache_ttl, cache_size)
            # Ids the store does not know, apart: a client spraying made-up ids cannot evict the real keys.
            self.unknown: RecordCache[KeyRecord] = RecordCache(cache_ttl, min(cache_size, UNKNOWN_SIZE))
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        self.clock = clock
        policy = getattr(store, "on_store_error", "closed") if on_store_error is None else on_store_error
        self.on_store_error = check_on_store_error(policy)
        what = getattr(store, "store_name", "the API key store")
        self.breaker = Breaker(retry_interval, logger=logger.name, what=what, store="apikeys")
        self._lock = threading.Lock()
        self._forgets = 0  # bumped by forget(): a store read begun before it is not cached after it
        self._written: dict[str, float] = {}  # when this process last wrote each key's last_used_at
        self._principals: dict[str, tuple[KeyRecord, Principal]] = {}  # one principal per record, reused
        self._accepted: dict[str, str] = {}  # key → id, for keys the full check accepted (see _known)

    checks_sync = True
    """:meth:`verify` works (the stores are synchronous; :meth:`averify` runs them in a thread)."""

    def recognises(self, value: str) -> bool:
        """Whether ``value`` looks like one of these keys (its prefix): an ``Authorization: Bearer`` may hold one."""
        return any(fmt.recognises(value) for fmt in self.formats)

    def parse(self, key: object) -> Parsed:
        """The key's id and body, or :class:`InvalidToken` (``malformed``, ``bad_checksum``)."""
        if isinstance(key, str):
            for fmt in self.formats:
                if key.startswith(fmt.prefix):
                    parsed = fmt.parse(key)
                    if isinstance(parsed, str):
                        raise InvalidToken(parsed)
                    return parsed
        raise InvalidToken("malformed")

    def verify(self, key: object, *, now: float | None = None) -> Principal:
        """The principal ``key`` authenticates, or :class:`InvalidToken` (``reason`` says why)."""
        now = self.clock() if now is None else now
        known = self._known(key, now)
        if known is not None:
            return known
        parsed = self.parse(key)
        held = self.cache.get(parsed.id, now) or self.unknown.get(parsed.id, now)
        record = held[0] if held is not None else self._read(parsed.id, now)
        principal = self._accept(record, parsed, now)
        assert record is not None
        if record.touch_due(now, self._written.get(record.id)):
            self._touch(record.id, now)
        return principal

    async def averify(self, key: object, *, now: float | None = None) -> Principal:
        """:meth:`verify` for async code: a store read runs in a worker thread, off the event loop."""
        now = self.clock() if now is None else now
        known = self._known(key, now)
        if known is not None:
            return known
        parsed = self.parse(key)
        held = self.cache.get(parsed.id, now) or self.unknown.get(parsed.id, now)
        record = held[0] if held is not None else await asyncio.to_thread(self._read, parsed.id, now)
        principal = self._accept(record, parsed, now)
        assert record is not None
        if record.touch_due(now, self._written.get(record.id)):
            await asyncio.to_thread(self._touch, record.id, now)
        return principal

    def forget(self, key_id: str) -> None:
        """Drop ``key_id`` from the cache: the next check reads the store (this process revoked or rotated it).

        A check whose store read began before this call does not put what it read back into the cache.
        """
        with self._lock:
            self._forgets += 1
            self.cache.forget(key_id)
            self.unknown.forget(key_id)

    def _known(self, key: object, now: float) -> Principal | None:
        """The principal of a key this process accepted already, while its cache entry is fresh.

        The steady state of a busy key: no parsing, no digest (benchmarks/credentials_bench.py:
        about 2 µs against 7 µs for the full check on this machine). Only keys that passed the
        full check are held, by their whole text; a key whose entry is stale, revoked or
        expired takes the full path again.
        """
        key_id = self._accepted.get(key) if isinstance(key, str) else None
        if key_id is None:
            return None
        held = self.cache.get(key_id, now)
        record = None if held is None else held[0]
        if record is None or record.refusal(now) is not None or record.touch_due(now, self._written.get(key_id)):
            return None
        made = self._principals.get(key_id)
        return made[1] if made is not None and made[0] is record else None

    def _accept(self, record: KeyRecord | None, parsed: Parsed, now: float) -> Principal:
        reason = refusal(record, digest(parsed.body, self.pepper), now)
        if reason is not None:
            raise InvalidToken(reason)
        assert record is not None
        if len(self._accepted) >= self.cache.size:
            self._accepted.clear()
        self._accepted[parsed.body + parsed.check] = record.id
        made = self._principals.get(record.id)
        if made is None or made[0] is not record:
            made = (record, principal_of(record, self.roles))
            if len(self._principals) >= self.cache.size:
                self._principals.clear()
            self._principals[record.id] = made
        return made[1]

    def _read(self, key_id: str, now: float) -> KeyRecord | None:
        """The record from the store (and into the cache), or the outage policy's answer."""
        if self.breaker.usable():
            began = self._forgets
            try:
                record = self.store.get(key_id)
            except StoreUnavailable as exc:
                return self._without_store(key_id, exc)
            self.breaker.answered()
            with self._lock:
                if self._forgets == began:  # else a revocation may have come after the read: not cached
                    (self.cache if record is not None else self.unknown).put(key_id, record, now)
            return record
        return self._without_store(key_id, None)

    def _without_store(self, key_id: str, exc: StoreUnavailable | None) -> KeyRecord | None:
        held = (self.cache.stale(key_id) or self.unknown.stale(key_id)) if self.on_store_error == "open" else None
        if held is None:
            without_store(self.breaker, exc, "closed")  # nothing to check the key against: a 503
        else:
            without_store(self.breaker, exc, "open")
        assert held is not None
        return held[0]

    def _touch(self, key_id: str, now: float) -> None:
        if len(self._written) >= self.cache.size:
            self._written.clear()
        self._written[key_id] = now  # first: a failed write is not retried by every request of the minute
        try:
            self.store.touch(key_id, now)
        except StoreUnavailable as exc:
            logger.info("last_used_at of API key %s not written: %s", key_id, exc)


__all__ = ["DEFAULT_CACHE_TTL", "DEFAULT_PREFIXES", "APIKeyVerifier"]
