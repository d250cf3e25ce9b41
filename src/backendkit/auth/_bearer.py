"""Authentication as every adapter runs it: headers → credential → principal → guard, with RFC 6750 answers.

An adapter gives it the request's ``Authorization`` lines (and its ``X-API-Key``
lines, when API keys are on) and its path parameters, and raises whatever comes
out; the error handling renders the envelope and the challenge. So the statuses
and challenges are decided once, here, for all three frameworks: no credentials
→ 401 with a bare challenge; a malformed header, or both headers at once → 400
``invalid_request``; a bad token or key → 401 ``invalid_token`` (the reason is
logged, never sent); a missing scope → 403 ``insufficient_scope``; anything else
the guard refuses → 403 ``FORBIDDEN``.

Which verifier reads a credential: an ``X-API-Key`` value, the API key verifier;
a bearer token with an API key prefix (``bk_live_...``), the API key verifier
too (``api_keys_as_bearer``); any other bearer token, the JWT verifier. The
guards never know which one made the principal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from backendkit.auth._core.errors import (
    DEFAULT_REALM,
    CredentialsRequired,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
)
from backendkit.auth._core.guards import Guard, GuardContext
from backendkit.auth._core.header import TWO_CREDENTIALS, api_key_value, bearer_token
from backendkit.auth._core.principal import Principal
from backendkit.auth._verifier import JWTVerifier
from backendkit.context import set_user_id
from backendkit.errors import APIError, ConfigurationError
from backendkit.observability._core.events import AccessGuarded, GuardReason, TokenVerified
from backendkit.observability._hub import hub

logger = logging.getLogger("backendkit.auth")

Authorization = str | Sequence[str] | None

DEFAULT_API_KEY_HEADER = "X-API-Key"


@runtime_checkable
class CredentialVerifier(Protocol):
    """A verifier of credentials this service issued itself: :class:`backendkit.apikeys.APIKeyVerifier` is one."""

    checks_sync: bool

    def recognises(self, value: str) -> bool:
        """Whether ``value`` (a bearer token) is one of its credentials, by its look alone."""
        ...

    def verify(self, credential: object) -> Principal:
        """The principal, or :class:`InvalidToken`."""
        ...

    async def averify(self, credential: object) -> Principal:
        """:meth:`verify` for async code."""
        ...


Verifier = JWTVerifier | CredentialVerifier


class BearerAuth:
    """The verifiers and the realm its challenges name: what the framework adapters are built on.

    Args:
        verifier: The JWT verifier (``None`` when only API keys are taken).
        api_keys: The API key verifier (``APIKeyVerifier``), if API keys are taken.
        realm: The realm the ``WWW-Authenticate`` challenges name.
        api_key_header: The header API keys are sent in (``X-API-Key``); ``None``: only as bearer tokens.
        api_keys_as_bearer: Whether ``Authorization: Bearer <key>`` takes an API key too.

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

    def __init__(
        self,
        verifier: JWTVerifier | CredentialVerifier | None = None,
        *,
        api_keys: CredentialVerifier | None = None,
        realm: str = DEFAULT_REALM,
        api_key_header: str | None = DEFAULT_API_KEY_HEADER,
        api_keys_as_bearer: bool = True,
    ) -> None:
        if verifier is not None and not isinstance(verifier, JWTVerifier):
            if api_keys is None and isinstance(verifier, CredentialVerifier):
                verifier, api_keys = None, verifier  # BearerAuth(APIKeyVerifier(...)): API keys alone
            else:
                raise ConfigurationError(f"BearerAuth needs a JWTVerifier, not {type(verifier).__name__}")
        if api_keys is not None and not isinstance(api_keys, CredentialVerifier):
            raise ConfigurationError(f"api_keys is an APIKeyVerifier, not {type(api_keys).__name__}")
        if verifier is None and api_keys is None:
            raise ConfigurationError("BearerAuth needs a JWTVerifier, an APIKeyVerifier (api_keys=), or both")
        if not isinstance(realm, str) or not realm:
            raise ConfigurationError("realm is a non-empty string")
        if api_key_header is not None and (not isinstance(api_key_header, str) or not api_key_header.strip()):
            raise ConfigurationError("api_key_header is a header name, or None")
        self.verifier: JWTVerifier | None = verifier
        self.api_keys = api_keys
        self.realm = realm
        # The header adapters read, when API keys are on (None: they read only Authorization).
        self.api_key_header = api_key_header if api_keys is not None else None
        self.api_keys_as_bearer = api_keys_as_bearer or verifier is None

    @property
    def checks_sync(self) -> bool:
        """Whether :meth:`authenticate` (not only :meth:`aauthenticate`) can be used."""
        return all(one.checks_sync for one in (self.verifier, self.api_keys) if one is not None)

    def token(self, authorization: Authorization) -> str:
        """The bearer token, or the 401 (none sent) or 400 (malformed header) to raise."""
        token = bearer_token(authorization, self.realm)
        if token is None:
            raise CredentialsRequired(self.realm)
        return token

    def credential(self, authorization: Authorization, api_key: Authorization = None) -> tuple[Verifier, str]:
        """The verifier for the request's credential, and the credential; or the 401/400 to raise."""
        key = api_key_value(api_key, self.realm) if self.api_key_header is not None else None
        token = bearer_token(authorization, self.realm)
        if key is not None:
            if token is not None:  # two credentials: which one is meant is not for us to guess
                raise InvalidRequest(self.realm, message=TWO_CREDENTIALS)
            assert self.api_keys is not None
            return self.api_keys, key
        if token is None:
            raise CredentialsRequired(self.realm)
        api_keys = self.api_keys
        if api_keys is not None and self.api_keys_as_bearer and (self.verifier is None or api_keys.recognises(token)):
            return api_keys, token
        assert self.verifier is not None
        return self.verifier, token

    def sent_credentials(self, authorization: Authorization, api_key: Authorization = None) -> bool:
        """Whether the request carries a credential at all (DRF leaves requests without one to its permissions)."""
        if self.api_key_header is not None and api_key_value(api_key, self.realm) is not None:
            return True  # (an empty X-API-Key line is no credential, as an empty Authorization line is none)
        return bearer_token(authorization, self.realm) is not None

    def authenticate(self, authorization: Authorization, api_key: Authorization = None) -> Principal:
        """The principal of the request whose ``Authorization`` (and API key header) lines are given."""
        verifier, token = self.credential(authorization, api_key)
        started = time.perf_counter() if hub.observers else 0.0
        try:
            principal = verifier.verify(token)
        except InvalidToken as exc:
            raise self._refused(exc, started, verifier) from None
        if started:
            hub.emit(TokenVerified("accepted", None, time.perf_counter() - started))
        set_user_id(principal.subject)
        return principal

    async def aauthenticate(self, authorization: Authorization, api_key: Authorization = None) -> Principal:
        """:meth:`authenticate` for async code (keys may be fetched, revocations asked, without blocking)."""
        verifier, token = self.credential(authorization, api_key)
        started = time.perf_counter() if hub.observers else 0.0
        try:
            principal = await verifier.averify(token)
        except InvalidToken as exc:
            raise self._refused(exc, started, verifier) from None
        if started:
            hub.emit(TokenVerified("accepted", None, time.perf_counter() - started))
        set_user_id(principal.subject)
        return principal

    def identify(self, authorization: Authorization, api_key: Authorization = None) -> Principal | None:
        """The principal, or ``None`` for no token or a refused one, quietly: for a log line or a rate-limit key.

        A refusal is neither logged nor observed (the view's own authentication
        does both, once); an accepted token is observed here, since the adapters
        keep the principal and the view's authentication then reuses it.
        """
        started = time.perf_counter() if hub.observers else 0.0
        try:
            verifier, token = self.credential(authorization, api_key)
            if not verifier.checks_sync:
                return None
            principal = verifier.verify(token)
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

    def _refused(self, exc: InvalidToken, started: float, verifier: Verifier) -> InvalidToken:
        if started:
            hub.emit(TokenVerified("refused", exc.reason, time.perf_counter() - started))
        if verifier is self.verifier:
            logger.info("bearer token refused: %s", exc.reason, extra={"auth_reason": exc.reason})
        else:
            logger.info("API key refused: %s", exc.reason, extra={"auth_reason": exc.reason})
        return exc.with_realm(self.realm)


def bearer_auth(
    verifier: JWTVerifier | CredentialVerifier | BearerAuth | None = None,
    *,
    api_keys: CredentialVerifier | None = None,
    realm: str = DEFAULT_REALM,
) -> BearerAuth:
    """The :class:`BearerAuth` of what an adapter's constructor was given: verifiers and a realm, or one made already.

    Example:
        >>> from backendkit.auth import HMACKey, JWTVerifier
        >>> bearer_auth(JWTVerifier([HMACKey("a-32-byte-secret-for-this-example!")]), realm="tasks").realm
        'tasks'
    """
    if isinstance(verifier, BearerAuth):
        if api_keys is not None:
            raise ConfigurationError("a BearerAuth has its API key verifier already: give api_keys= to the BearerAuth")
        return verifier
    return BearerAuth(verifier, api_keys=api_keys, realm=realm)


def _guarded(denial: APIError | None) -> None:
    if denial is None:
        hub.emit(AccessGuarded("allowed", None))
        return
    reason: GuardReason = "insufficient_scope" if isinstance(denial, InsufficientScope) else "forbidden"
    hub.emit(AccessGuarded("denied", reason))


__all__ = ["DEFAULT_API_KEY_HEADER", "Authorization", "BearerAuth", "CredentialVerifier", "bearer_auth"]
