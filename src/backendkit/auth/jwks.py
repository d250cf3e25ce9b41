"""Keys from a JWKS endpoint, fetched with the standard library and cached by the pure policy in ``_jwks``.

One core, two thin shells: :meth:`JWKSClient.select` and :meth:`JWKSClient.aselect`
ask the same immutable cache state what a lookup needs, and share one fetch at a
time, in flight for every thread and event loop. The lookup that starts a fetch makes
it (the async one in a worker thread, ``asyncio.to_thread``, so the loop never waits on
the network); the lookups that need it meanwhile wait for that fetch, but never past
``wait`` seconds from its start (0.5 s by default), and the others never wait. So a
hung endpoint holds one thread for its ``timeout``, not every thread of a WSGI server:
a waiting request holds its worker thread, under WSGI even an async view's.

A fetch is a single ``GET`` over ``https`` (plain ``http`` only to a loopback host),
redirects refused, the body capped at ``max_bytes`` and the whole exchange bounded
by ``timeout``. A failed fetch keeps the last good set; the next try waits a cooldown.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent import futures
from typing import Any

from backendkit.auth._core import jwks as _jwks
from backendkit.auth._core import jwkset as _jwkset
from backendkit.auth._core.backend import SignatureBackend
from backendkit.auth._core.errors import InvalidToken
from backendkit.auth._core.jwks import DEFAULT_COOLDOWN, MAX_TTL, MIN_TTL, NEGATIVE_TTL, CachePolicy, Need
from backendkit.auth._core.jwkset import DEFAULT_MAX_BYTES
from backendkit.auth._core.keyring import Verify
from backendkit.auth._core.keys import RSA_ALGS
from backendkit.auth._fetch import EXPECTED, get, parse_url
from backendkit.errors import ConfigurationError
from backendkit.observability._core.events import JwksFetched, KeyLookedUp
from backendkit.observability._hub import hub

logger = logging.getLogger("backendkit.auth")

DISCOVERY_PATH = "/.well-known/openid-configuration"
"""Where an OpenID Provider publishes its configuration, appended to the issuer (OpenID Connect Discovery §4)."""

DEFAULT_WAIT = 0.5
"""Seconds, from its start, that lookups wait for a fetch another request started (a healthy JWKS answers sooner)."""


class _Flight:
    """The fetch in flight: when it started, and a future that is done when it has ended."""

    __slots__ = ("ended", "started")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.ended: futures.Future[None] = futures.Future()
        # Running from the start: a waiter that gives up (a timeout, a cancelled task) cannot cancel it.
        self.ended.set_running_or_notify_cancel()


class JWKSClient:
    """Public keys from a JWKS URL (or an OpenID issuer's discovery document), for :class:`JWTVerifier`.

    Nothing is fetched when it is built. A token whose kid is not cached causes at
    most one fetch per ``cooldown``, however many such tokens arrive, and one fetch
    at a time is shared by every thread and event loop; a set is fresh
    for the response's ``max-age`` clamped to [``min_ttl``, ``max_ttl``] (300 s
    without one); a stale set is refetched once, and kept if the fetch fails. A
    lookup fails with :class:`InvalidToken`: ``unknown_kid``, ``alg_mismatch``, or
    ``keys_unavailable`` when no set was ever fetched.

    Args:
        url: The JWKS URL: https, or http to a loopback host (127.0.0.0/8, ::1, localhost).
        issuer: Instead of ``url``: an OpenID issuer whose discovery document names the JWKS
            (see :meth:`from_issuer`).
        backend: The signature backend that builds each key (the default backend if None).
        timeout: Seconds one request may take, connect to last byte (discovery adds a second request).
        wait: Seconds, from a fetch's start, that the lookups needing it wait for it when another request
            started it; then they are answered from the cache (``unknown_kid``, or ``keys_unavailable``
            before any set loaded). A waiting request holds its thread on a WSGI server: this bounds
            how long a hung endpoint can hold a server's threads besides the one fetching.
        max_bytes: The largest document read.
        cooldown: Seconds between fetches caused by unknown kids or failures.
        negative_ttl: Seconds a kid the set lacked is refused without a fetch, from its first miss (retries
            do not extend it; 0: never remembered).
        min_ttl: The shortest freshness honoured from ``max-age``.
        max_ttl: The longest freshness honoured from ``max-age``.
        rsa_alg: The algorithm for RSA keys published without ``alg`` (Microsoft Entra ID's
            are); they are skipped as ambiguous by default.
        clock: Monotonic seconds, for the cache.
        allow_http_loopback: Whether plain http is allowed to loopback hosts (tests, sidecars).

    Example:
        >>> from backendkit.auth import JWTVerifier
        >>> client = JWKSClient("https://auth.example.test/.well-known/jwks.json")
        >>> verifier = JWTVerifier(jwks=client, audience="api")
        >>> JWKSClient("http://auth.example.test/jwks.json")
        Traceback (most recent call last):
        ...
        backendkit.errors._exceptions.ConfigurationError: the JWKS URL must be https (or http to a loopback host): 'http://auth.example.test/jwks.json'
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        issuer: str | None = None,
        backend: SignatureBackend | None = None,
        timeout: float = 2.0,
        wait: float = DEFAULT_WAIT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        cooldown: float = DEFAULT_COOLDOWN,
        negative_ttl: float = NEGATIVE_TTL,
        min_ttl: float = MIN_TTL,
        max_ttl: float = MAX_TTL,
        rsa_alg: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        allow_http_loopback: bool = True,
    ) -> None:
        if (url is None) == (issuer is None):
            raise ConfigurationError("a JWKSClient takes a url or an issuer: exactly one of them")
        try:
            if url is not None:
                self._target = parse_url(url, "the JWKS URL", allow_http_loopback)
            else:
                assert issuer is not None
                parse_url(issuer, "the issuer", allow_http_loopback)
                discovery = issuer.rstrip("/") + DISCOVERY_PATH
                self._target = parse_url(discovery, "the discovery URL", allow_http_loopback)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 60:
            raise ConfigurationError(f"timeout is a number of seconds in (0, 60], not {timeout!r}")
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= 60:
            raise ConfigurationError(f"wait is a number of seconds in [0, 60], not {wait!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1024:
            raise ConfigurationError(f"max_bytes is a number of bytes (at least 1024), not {max_bytes!r}")
        if rsa_alg is not None and rsa_alg not in RSA_ALGS:
            raise ConfigurationError(f"rsa_alg is one of {sorted(RSA_ALGS)}, not {rsa_alg!r}")
        if backend is None:
            from backendkit.auth.backends import default_backend

            backend = default_backend()
        self.url = url
        """The JWKS URL (for an issuer, ``None`` until its discovery document has named it)."""
        self.issuer = issuer
        self._policy = CachePolicy(cooldown=cooldown, min_ttl=min_ttl, max_ttl=max_ttl, negative_ttl=negative_ttl)
        self._state = _jwks.CacheState()
        self._backend = backend
        self._timeout = float(timeout)
        self._max_bytes = max_bytes
        self._rsa_alg = rsa_alg
        self._clock = clock
        self._allow_http_loopback = allow_http_loopback
        self._wait = float(wait)
        self._lock = threading.Lock()
        self._flight: _Flight | None = None  # at most one fetch at a time
        self._logged: frozenset[str] = frozenset()
        self._absent: Mapping[str, float] = {}  # the negative cache: kid -> until (see _jwks.remember_absent)

    @classmethod
    def from_issuer(cls, issuer: str, **options: Any) -> JWKSClient:
        """A client whose JWKS URL is the ``jwks_uri`` of ``issuer``'s OpenID discovery document.

        The document (``{issuer}/.well-known/openid-configuration``) is fetched on the
        first lookup, sync or async, not here; its ``issuer`` must equal ``issuer``
        exactly, or the fetch fails (and is retried after the cooldown).

        Example:
            >>> JWKSClient.from_issuer("https://id.example.test/realms/main").url is None
            True
        """
        return cls(issuer=issuer, **options)

    def select(self, kid: str, alg: str) -> Verify:
        """The verify function of key ``kid`` bound to ``alg``, fetching if needed, or :class:`InvalidToken`."""
        step = self._need(kid)
        if step is not Need.NOTHING:
            flight, mine = self._board(kid)
            if flight is not None and mine:
                self._fetch(flight)
            elif flight is not None and step is Need.FETCH:
                futures.wait([flight.ended], timeout=self._patience(flight))
        return self._answer(kid, alg, step)

    async def aselect(self, kid: str, alg: str) -> Verify:
        """:meth:`select` for async code: the fetch runs in a worker thread, and a wait holds no thread."""
        step = self._need(kid)
        if step is not Need.NOTHING:
            flight, mine = self._board(kid)
            if flight is not None and mine:
                self._start(flight)
                # A caller cancelled here leaves the fetch to run on and end the flight for the others.
                await asyncio.wrap_future(flight.ended)
            elif flight is not None and step is Need.FETCH:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.wrap_future(flight.ended), self._patience(flight))
        return self._answer(kid, alg, step)

    def _answer(self, kid: str, alg: str, step: Need) -> Verify:
        """The lookup's answer, and what observers learn of it: a hit, a miss, a refusal in the cooldown."""
        if not hub.observers:
            return self._select(kid, alg)
        keys = self._state.keys
        # A hit: the cached set has the kid (a lookup answered from the cache in the cooldown is a miss).
        hub.emit(KeyLookedUp(hit=step is not Need.FETCH and keys is not None and kid in keys))
        try:
            return self._select(kid, alg)
        except InvalidToken as exc:
            # A fetch was wanted and the cooldown refused it: a kid the set lacks, or no set since a failed fetch.
            if step is Need.NOTHING and exc.reason in ("unknown_kid", "keys_unavailable"):
                hub.emit(JwksFetched("cooldown_refused", 0.0))
            raise

    def _need(self, kid: str) -> Need:
        return _jwks.need(self._state, kid, self._clock(), self._absent.get(kid, -math.inf))

    def _select(self, kid: str, alg: str) -> Verify:
        state = self._state
        try:
            return _jwks.select(state, kid, alg)
        except InvalidToken as exc:
            if exc.reason == "unknown_kid":  # the set is loaded and lacks it: no fetch for it for a while
                # A new mapping, swapped in whole: threads share it, and none may see it half changed
                # (a miss lost to a concurrent one costs at most one more fetch, after the cooldown).
                self._absent = _jwks.remember_absent(self._absent, kid, self._clock(), self._policy)
            raise

    def _board(self, kid: str) -> tuple[_Flight | None, bool]:
        """The fetch in flight; or a new one, for the caller to make (``True``); or none, no longer needed."""
        with self._lock:  # held for this bookkeeping only, never across the network
            if self._flight is not None:
                return self._flight, False
            if self._need(kid) is Need.NOTHING:  # a fetch that has just ended answered it
                return None, False
            self._flight = _Flight()
            return self._flight, True

    def _patience(self, flight: _Flight) -> float:
        # Counted from the fetch's start, not from each waiter's arrival: however many requests come,
        # none waits past ``started + wait``, so waiters cannot hold a thread pool for a hung fetch's timeout.
        return max(flight.started + self._wait - time.monotonic(), 0.0)

    def _start(self, flight: _Flight) -> None:
        """Fetch in a thread of the fetch's own, which nothing can cancel before it has run.

        Not the event loop's executor: a job still queued there when its caller is cancelled
        never runs, and its flight would never end (every later lookup would take the fetch
        for one in flight, and no fetch would ever be made again).
        """
        try:
            # In a copy of the caller's context: the fetch's span (if traced) is a child of the request's.
            run = contextvars.copy_context().run
            threading.Thread(target=run, args=(self._fetch, flight), name="backendkit-jwks-fetch", daemon=True).start()
        except BaseException:
            self._end(flight)
            raise

    def _fetch(self, flight: _Flight) -> None:
        """Fetch the set and swap in the state it brings; the flight ends, whatever happens."""
        started = time.perf_counter()
        try:
            try:
                keys, cache_control = self._download()
            except Exception as exc:  # whatever went wrong, the last good set stays and the cooldown applies
                if hub.observers:
                    hub.emit(JwksFetched("failed", time.perf_counter() - started))
                where = self.url or self._target.geturl()
                unexpected = not isinstance(exc, EXPECTED)
                logger.warning("JWKS fetch from %s failed: %s", where, exc, exc_info=unexpected)
                self._state = _jwks.failed(self._state, self._policy, self._clock())
                return
            for warning in keys.warnings:
                if warning not in self._logged:  # once per change of the set, not on every refresh
                    logger.warning("%s (JWKS %s)", warning, self.url)
            self._logged = frozenset(keys.warnings)
            self._state = _jwks.loaded(self._policy, keys, cache_control, self._clock())
            self._absent = {}  # a new set: what it lacks is learnt again
            if hub.observers:
                hub.emit(JwksFetched("ok", time.perf_counter() - started))
        finally:
            self._end(flight)

    def _end(self, flight: _Flight) -> None:
        with self._lock:
            self._flight = None
        flight.ended.set_result(None)

    def _download(self) -> tuple[_jwkset.KeySet, str | None]:
        if self.url is None:
            assert self.issuer is not None
            raw, _ = get(self._target, self._timeout, self._max_bytes)
            uri = _jwkset.parse_discovery(raw, self.issuer, self._max_bytes)
            self._target = parse_url(uri, "the discovered jwks_uri", self._allow_http_loopback)
            self.url = uri
        raw, cache_control = get(self._target, self._timeout, self._max_bytes)
        previous = self._state.keys
        keys = _jwkset.parse_jwks(
            raw, self._backend.verifier, previous=previous, rsa_alg=self._rsa_alg, max_bytes=self._max_bytes
        )
        return keys, cache_control


__all__ = ["DEFAULT_WAIT", "DISCOVERY_PATH", "JWKSClient"]
