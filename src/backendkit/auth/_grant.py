"""A token endpoint's refresh grant, for every adapter: form in, RFC 6749 answer out.

An adapter reads the request's body and ``Content-Type``, calls :func:`refresh_answer`
(or :func:`arefresh_answer`) with them and sends the status, headers and body it gets:
the form is parsed here, by one parser, so every framework answers the same bytes alike. A
refused token is RFC 6749's ``invalid_grant``; a store that cannot answer raises
:class:`~backendkit.errors.ServiceUnavailable`, rendered as every 503 is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from backendkit.auth._core.errors import InvalidGrant
from backendkit.auth._core.grant import HEADERS, OAuthError, read_refresh_grant, token_body
from backendkit.auth._issue import TokenIssuer
from backendkit.auth._refresh import TokenPair
from backendkit.auth._stores.memory import Revocations
from backendkit.errors import ConfigurationError

Answer = tuple[int, tuple[tuple[str, str], ...], bytes]
"""A status, the headers and the body."""

DEFAULT_REFRESH_PATH = "/auth/refresh"


def _pair(pair: TokenPair) -> Answer:
    return 200, HEADERS, token_body(pair.response())


def _error(error: OAuthError) -> Answer:
    return error.status, HEADERS, error.body()


def refresh_answer(issuer: TokenIssuer, form: Mapping[str, Sequence[str]] | bytes, content_type: str | None) -> Answer:
    """The answer to a refresh grant: §5.1 with the new pair, or §5.2 ``invalid_request``/``invalid_grant``..."""
    token = read_refresh_grant(form, content_type)
    if isinstance(token, OAuthError):
        return _error(token)
    try:
        pair = issuer.refresh(token)
    except InvalidGrant:
        return _error(OAuthError("invalid_grant"))
    return _pair(pair)


async def arefresh_answer(
    issuer: TokenIssuer, form: Mapping[str, Sequence[str]] | bytes, content_type: str | None
) -> Answer:
    """:func:`refresh_answer` for async code (the store is asked in a worker thread)."""
    token = read_refresh_grant(form, content_type)
    if isinstance(token, OAuthError):
        return _error(token)
    try:
        pair = await issuer.arefresh(token)
    except InvalidGrant:
        return _error(OAuthError("invalid_grant"))
    return _pair(pair)


def refreshing(issuer: object, *, sync: bool) -> TokenIssuer:
    """``issuer``, checked when a refresh endpoint is made: a :class:`TokenIssuer` with a refresh store.

    ``sync``: the endpoint refreshes synchronously (a Flask or sync Django view), which an
    async-only revocation list cannot serve (a reuse must revoke the family's access tokens).
    """
    if not isinstance(issuer, TokenIssuer):
        raise ConfigurationError(f"a refresh endpoint needs a TokenIssuer, not {type(issuer).__name__}")
    if issuer.rotator is None:
        raise ConfigurationError("this TokenIssuer has no refresh_store: refresh tokens are off")
    if sync and not refreshes_sync(issuer):
        raise ConfigurationError(
            "this TokenIssuer's revocation list is async-only: a synchronous view cannot refresh with it "
            "(use the sync list, RedisRevocations, or an async endpoint)"
        )
    return issuer


def refreshes_sync(issuer: TokenIssuer) -> bool:
    """Whether :func:`refresh_answer` (not only :func:`arefresh_answer`) can serve ``issuer``."""
    revocations = issuer.rotator.revocations if issuer.rotator is not None else None
    return revocations is None or isinstance(revocations, Revocations)


__all__ = ["DEFAULT_REFRESH_PATH", "Answer", "arefresh_answer", "refresh_answer", "refreshes_sync", "refreshing"]
