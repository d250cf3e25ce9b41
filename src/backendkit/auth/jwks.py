"""Keys from a JWKS endpoint, fetched with the standard library and cached by the pure policy in ``_jwks``.

One core, two thin shells: :meth:`JWKSClient.select` and :meth:`JWKSClient.aselect`
ask the same immutable cache state what a lookup needs, and both fetch through the
same blocking function under the same ``threading.Lock``; the async side runs it in
a worker thread (``asyncio.to_thread``) behind an ``asyncio.Lock`` per event loop, so
the loop never waits on the network and concurrent tasks share one fetch.

A fetch is a single ``GET`` over ``https`` (plain ``http`` only to a loopback host),
redirects refused, the body capped at ``max_bytes`` and the whole exchange bounded
by ``timeout``. A failed fetch keeps the last good set; the next try waits a cooldown.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from backendkit.auth import _jwks, _jwkset
from backendkit.auth._backend import SignatureBackend
from backendkit.auth._errors import InvalidToken
from backendkit.auth._fetch import EXPECTED, get, parse_url
from backendkit.auth._jwks import DEFAULT_COOLDOWN, MAX_TTL, MIN_TTL, NEGATIVE_TTL, CachePolicy, Need
from backendkit.auth._jwkset import DEFAULT_MAX_BYTES
from backendkit.auth._keyring import Verify
from backendkit.auth._keys import RSA_ALGS
from backendkit.errors import ConfigurationError

logger = logging.getLogger("backendkit.auth")

DISCOVERY_PATH = "/.well-known/openid-configuration"
"""Where an OpenID Provider publishes its configuration, appended to the issuer (OpenID Connect Discovery §4)."""


class JWKSClient:
    """Public keys from a JWKS URL (or an OpenID issuer's discovery document), for :class:`JWTVerifier`.

    Nothing is fetched when it is built. A token whose kid is not cached causes at
    most one fetch per ``cooldown``, however many such tokens arrive; a set is fresh
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
        self._lock = threading.Lock()
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
        self._async_locks = weakref.WeakKeyDictionary()
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
            self._refresh(kid, wait=step is Need.FETCH)
        return self._select(kid, alg)

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

    async def aselect(self, kid: str, alg: str) -> Verify:
        """:meth:`select` for async code: the fetch runs in a worker thread, one per event loop at a time."""
        step = self._need(kid)
        if step is not Need.NOTHING:
            lock = self._async_locks.get(asyncio.get_running_loop())
            if lock is None:
                lock = self._async_locks[asyncio.get_running_loop()] = asyncio.Lock()
            if step is Need.FETCH or not lock.locked():  # a stale key is served while another task refreshes
                async with lock:
                    if self._need(kid) is step:  # unless the task before us did it
                        await asyncio.to_thread(self._refresh, kid, wait=step is Need.FETCH)
        return self._select(kid, alg)

    def _refresh(self, kid: str, *, wait: bool) -> None:
        """Fetch if the lookup of ``kid`` still needs it; without ``wait``, only if no other fetch is running."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            if self._need(kid) is Need.NOTHING:
                return
            try:
                keys, cache_control = self._download()
            except Exception as exc:  # whatever went wrong, the last good set stays and the cooldown applies
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
        finally:
            self._lock.release()

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


__all__ = ["DISCOVERY_PATH", "JWKSClient"]
