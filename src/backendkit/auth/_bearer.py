"""Bearer authentication as every adapter runs it: header → token → principal → guard, with RFC 6750 answers.

An adapter gives it the request's ``Authorization`` lines and its path parameters
and raises whatever comes out; the error handling renders the envelope and the
challenge. So the statuses and challenges are decided once, here, for all three
frameworks: no credentials → 401 with a bare challenge; a malformed header → 400
``invalid_request``; a bad token → 401 ``invalid_token`` (the reason is logged,
never sent); a missing scope → 403 ``insufficient_scope``; anything else the
guard refuses → 403 ``FORBIDDEN``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from backendkit.auth._core.errors import DEFAULT_REALM, CredentialsRequired, InsufficientScope, InvalidToken
from backendkit.auth._core.guards import Guard, GuardContext
from backendkit.auth._core.header import bearer_token
from backendkit.auth._core.principal import Principal
from backendkit.auth._verifier import JWTVerifier
from backendkit.context import set_user_id
from backendkit.errors import APIError, ConfigurationError
from backendkit.observability._core.events import AccessGuarded, GuardReason, TokenVerified
from backendkit.observability._hub import hub

logger = logging.getLogger("backendkit.auth")

Authorization = str | Sequence[str] | None


class BearerAuth:
    """A verifier and the realm its challenges name: what the framework adapters are built on.

    Example:
        >>> from backendkit.auth import HMACKey, JWTVerifier, issue
        >>> key = HMACKey("a-32-byte-secret-for-this-example!")
        >>> auth = BearerAuth(JWTVerifier([key]), realm="tasks")
        >>> auth.authenticate("Bearer " + issue(key, "u1")).subject
        'u1'
        >>> auth.authenticate(None)
        Traceback (most recent call last):
        ...
        backendkit.auth._core.errors.CredentialsRequired: Authentication is required.
    """

    def __init__(self, verifier: JWTVerifier, *, realm: str = DEFAULT_REALM) -> None:
        if not isinstance(verifier, JWTVerifier):
            raise ConfigurationError(f"BearerAuth needs a JWTVerifier, not {type(verifier).__name__}")
        if not isinstance(realm, str) or not realm:
            raise ConfigurationError("realm is a non-empty string")
        self.verifier = verifier
        self.realm = realm

    def token(self, authorization: Authorization) -> str:
        """The bearer token, or the 401 (none sent) or 400 (malformed header) to raise."""
        token = bearer_token(authorization, self.realm)
        if token is None:
            raise CredentialsRequired(self.realm)
        return token

    def authenticate(self, authorization: Authorization) -> Principal:
        """The principal of the request whose ``Authorization`` lines are given."""
        token = self.token(authorization)
        started = time.perf_counter() if hub.observers else 0.0
        try:
            principal = self.verifier.verify(token)
        except InvalidToken as exc:
            raise self._refused(exc, started) from None
        if started:
            hub.emit(TokenVerified("accepted", None, time.perf_counter() - started))
        set_user_id(principal.subject)
        return principal

    async def aauthenticate(self, authorization: Authorization) -> Principal:
        """:meth:`authenticate` for async code (keys may be fetched, revocations asked, without blocking)."""
        token = self.token(authorization)
        started = time.perf_counter() if hub.observers else 0.0
        try:
            principal = await self.verifier.averify(token)
        except InvalidToken as exc:
            raise self._refused(exc, started) from None
        if started:
            hub.emit(TokenVerified("accepted", None, time.perf_counter() - started))
        set_user_id(principal.subject)
        return principal

    def identify(self, authorization: Authorization) -> Principal | None:
        """The principal, or ``None`` for no token or a refused one, quietly: for a log line or a rate-limit key.

        A refusal is neither logged nor observed (the view's own authentication
        does both, once); an accepted token is observed here, since the adapters
        keep the principal and the view's authentication then reuses it.
        """
        started = time.perf_counter() if hub.observers else 0.0
        try:
            principal = self.verifier.verify(self.token(authorization))
        except APIError:
            return None
        if started:
            hub.emit(TokenVerified("accepted", None, time.perf_counter() - started))
        return principal

    def authorize(self, guard: Guard, principal: Principal, params: Mapping[str, Any], request: Any = None) -> None:
        """Raise what ``guard`` refuses, if anything."""
        denial = guard.check(GuardContext(principal, params, request, self.realm))
        if hub.observers:
            _guarded(denial)
        if denial is not None:
            raise denial

    async def aauthorize(
        self, guard: Guard, principal: Principal, params: Mapping[str, Any], request: Any = None
    ) -> None:
        """:meth:`authorize` for async code; async predicates are awaited."""
        denial = await guard.acheck(GuardContext(principal, params, request, self.realm))
        if hub.observers:
            _guarded(denial)
        if denial is not None:
            raise denial

    def _refused(self, exc: InvalidToken, started: float) -> InvalidToken:
        if started:
            hub.emit(TokenVerified("refused", exc.reason, time.perf_counter() - started))
        logger.info("bearer token refused: %s", exc.reason, extra={"auth_reason": exc.reason})
        return exc.with_realm(self.realm)


def _guarded(denial: APIError | None) -> None:
    if denial is None:
        hub.emit(AccessGuarded("allowed", None))
        return
    reason: GuardReason = "insufficient_scope" if isinstance(denial, InsufficientScope) else "forbidden"
    hub.emit(AccessGuarded("denied", reason))


__all__ = ["Authorization", "BearerAuth"]
