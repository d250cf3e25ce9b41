"""The credentials attack corpus: API keys and refresh tokens sent to a deployed example, each with its answer.

A row sends one request (after whatever set-up it needs: a key made, revoked or
expired in the deployment's store, a family reused...) to one running example and
names the answer it must get. There are five answers, and a 500 is never one:

- ``ACCEPTED`` (200), ``FORBIDDEN`` (403: authenticated, not allowed);
- ``INVALID_TOKEN``: 401 with ``Bearer realm="api", error="invalid_token"`` (RFC 6750 §3.1),
  whatever was wrong with the credential;
- ``NO_CREDENTIALS``: 401 with the bare challenge (nothing usable was sent);
- ``INVALID_REQUEST``: 400 with ``error="invalid_request"`` (the headers are not one credential);
- ``grant(error)``: on ``POST /auth/refresh``, RFC 6749 §5.2's 400 with ``error``.

The rows build every credential themselves, through the deployment's own stores
(the key store its ``BACKENDKIT_EXAMPLE_APIKEYS_URL`` names, the Redis its refresh
families live in) and its own secrets.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from backendkit.apikeys import APIKeys, KeyStore
from backendkit.auth import HMACKey, RefreshPolicy, RefreshStore, TokenIssuer
from backendkit.auth._core.opaque import SECRET_BYTES, OpaqueFormat
from backendkit.auth._core.refresh import FORMAT as REFRESH_FORMAT
from examples import _auth
from tests.examples.credentials import FORM, INVALID_REQUEST, INVALID_TOKEN, bearer, refresh, tokens
from tests.support.net import Reply, request

LIVE = OpaqueFormat("bk_live_")


@dataclass(frozen=True)
class Deployment:
    """One running example: where it listens, its stores (the test's own clients of them) and its secrets."""

    name: str
    port: int
    keys: KeyStore  # what BACKENDKIT_EXAMPLE_APIKEYS_URL names
    families: RefreshStore  # in the Redis of BACKENDKIT_EXAMPLE_REDIS_URL
    secret: str  # BACKENDKIT_EXAMPLE_JWT_SECRET
    pepper: str  # BACKENDKIT_EXAMPLE_REFRESH_PEPPER

    def api_keys(self, prefix: str = "bk_live_") -> APIKeys:
        return APIKeys(self.keys, prefix=prefix)

    def key(self, roles: str = "viewer", **options: Any) -> str:
        """A new key of ``corpus-bot`` in the deployment's store."""
        return self.api_keys(options.pop("prefix", "bk_live_")).create("corpus-bot", roles=[roles], **options).key

    def issuer(self, *, pepper: str | None = None, clock: Callable[[], float] = time.time) -> TokenIssuer:
        """A token issuer on the deployment's refresh store (its pepper unless another is given)."""
        return TokenIssuer(
            HMACKey(self.secret),
            issuer=_auth.ISSUER,
            audience=_auth.AUDIENCE,
            refresh_store=self.families,
            pepper=pepper or self.pepper,
            clock=clock,
        )


Answer = tuple[int, str | None, str]
"""The status, the ``WWW-Authenticate`` header (``None``: none), and the envelope's code or §5.2's ``error``."""

ACCEPTED: Answer = (200, None, "")
FORBIDDEN: Answer = (403, None, "FORBIDDEN")
INVALID: Answer = (401, INVALID_TOKEN, "INVALID_TOKEN")
NO_CREDENTIALS: Answer = (401, 'Bearer realm="api"', "UNAUTHORIZED")
MALFORMED: Answer = (400, INVALID_REQUEST, "INVALID_REQUEST")


def grant(error: str) -> Answer:
    return (400, None, error)


Send = Callable[[Deployment], Reply]


@dataclass(frozen=True)
class Row:
    name: str
    send: Send
    answer: Answer
    body: dict[str, Any] | None = None  # what an accepted answer's JSON holds (among other things)


def _me(headers: Callable[[Deployment], dict[str, str]]) -> Send:
    return lambda d: request(d.port, "GET", "/me", headers=headers(d))


def _key_header(make: Callable[[Deployment], str | bytes]) -> Send:
    return lambda d: request(d.port, "GET", "/me", headers=[("X-API-Key", make(d))])


def _audit(role: str) -> Send:
    return lambda d: request(d.port, "GET", "/admin/audit", headers={"X-API-Key": d.key(role)})


def _flip_last(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


def _mistyped(text: str, at: int) -> str:
    return text[:at] + _flip_last(text[at]) + text[at + 1 :]


def _forged(key: str, fmt: OpaqueFormat) -> str:
    """Another secret under ``key``'s id, with the right check digits: only the store can tell."""
    parsed = fmt.parse(key)
    assert not isinstance(parsed, str)
    return fmt.compose(parsed.id, secrets.token_bytes(SECRET_BYTES))


def _expired_key(d: Deployment) -> str:
    key = d.key(expires_in=1)
    time.sleep(1.2)
    return key


def _revoked_key(d: Deployment) -> str:
    keys = d.api_keys()
    made = keys.create("corpus-bot", roles=["viewer"])
    keys.revoke(made.record.id)
    return made.key


def _rotated_key(d: Deployment) -> str:
    keys = d.api_keys()
    made = keys.create("corpus-bot", roles=["viewer"])
    keys.rotate(made.record.id, grace=0)  # the old key ends with no grace
    return made.key


def _two_keys(d: Deployment) -> Reply:
    key = d.key()
    return request(d.port, "GET", "/me", headers=[("X-API-Key", key), ("X-API-Key", key)])


def _key_and_token(d: Deployment) -> Reply:
    return request(d.port, "GET", "/me", headers={"X-API-Key": d.key(), **bearer(tokens(d.port)["access_token"])})


def _reused_family_access(d: Deployment) -> Reply:
    first = tokens(d.port)
    second = json.loads(refresh(d.port, first["refresh_token"]).body)
    json.loads(refresh(d.port, second["refresh_token"]).body)
    assert refresh(d.port, first["refresh_token"]).status == 400  # the reuse
    return request(d.port, "GET", "/me", headers=bearer(second["access_token"]))


def _logged_out_family_access(d: Deployment) -> Reply:
    first = tokens(d.port)
    second = json.loads(refresh(d.port, first["refresh_token"]).body)
    assert request(d.port, "POST", "/auth/logout", headers=bearer(second["access_token"])).status == 204
    return request(d.port, "GET", "/me", headers=bearer(first["access_token"]))  # the family's other token


def _logout_with_key(d: Deployment) -> Reply:
    return request(d.port, "POST", "/auth/logout", headers={"X-API-Key": d.key()})


BOT = {"sub": "corpus-bot", "roles": ["viewer"], "permissions": ["tasks:read"]}

KEY_ROWS = [
    Row("key in X-API-Key", _key_header(lambda d: d.key()), ACCEPTED, BOT),
    Row("key as a bearer token", _me(lambda d: bearer(d.key())), ACCEPTED, BOT),
    Row("key with white space around it", _key_header(lambda d: f"  {d.key()}\t"), ACCEPTED, BOT),
    Row("admin key on a guarded route", _audit("admin"), ACCEPTED, {"ok": True}),
    Row("viewer key on a guarded route", _audit("viewer"), FORBIDDEN),
    Row("key on logout (no session)", _logout_with_key, FORBIDDEN),
    Row("not a key", _key_header(lambda d: "bk_live_abc"), INVALID),
    Row("truncated by one character", _key_header(lambda d: d.key()[:-1]), INVALID),
    Row("truncated to its id", _key_header(lambda d: d.key()[:20]), INVALID),
    Row("wrong checksum", _key_header(lambda d: _flip_last(d.key())), INVALID),
    Row("mistyped secret", _key_header(lambda d: _mistyped(d.key(), 30)), INVALID),
    Row("forged secret with the right checksum", _key_header(lambda d: _forged(d.key(), LIVE)), INVALID),
    Row("unknown id", _key_header(lambda d: LIVE.compose(secrets.token_bytes(9), secrets.token_bytes(32))), INVALID),
    Row("expired", _key_header(_expired_key), INVALID),
    Row("revoked", _key_header(_revoked_key), INVALID),
    Row("rotated, its grace over", _key_header(_rotated_key), INVALID),
    Row("bk_test_ key against a live deployment", _key_header(lambda d: d.key(prefix="bk_test_")), INVALID),
    Row("bk_test_ key as a bearer token", _me(lambda d: bearer(d.key(prefix="bk_test_"))), INVALID),
    Row("prefix in capitals", _key_header(lambda d: "BK_LIVE_" + d.key()[8:]), INVALID),
    Row("oversized", _key_header(lambda d: "bk_live_" + "A" * 4000), INVALID),
    Row("non-ASCII", _key_header(lambda d: (d.key()[:-1] + "é").encode("latin-1")), MALFORMED),
    Row("two X-API-Key headers", _two_keys, MALFORMED),
    Row("X-API-Key and Authorization", _key_and_token, MALFORMED),
    Row("empty X-API-Key", _key_header(lambda d: ""), NO_CREDENTIALS),
    Row("refresh token as a bearer access token", _me(lambda d: bearer(tokens(d.port)["refresh_token"])), INVALID),
    Row("refresh token in X-API-Key", _key_header(lambda d: tokens(d.port)["refresh_token"]), INVALID),
    Row("access token in X-API-Key", _key_header(lambda d: tokens(d.port)["access_token"]), INVALID),
    Row("access token of a reused family", _reused_family_access, INVALID),
    Row("access token of a logged-out family", _logged_out_family_access, INVALID),
]


def _grant(token: Callable[[Deployment], str]) -> Send:
    return lambda d: refresh(d.port, token(d))


def _form(body: str, content_type: str = FORM) -> Send:
    return lambda d: request(
        d.port, "POST", "/auth/refresh", headers={"Content-Type": content_type}, body=body.encode()
    )


def _forged_under_a_live_family(d: Deployment) -> Reply:
    live = tokens(d.port)["refresh_token"]
    reply = refresh(d.port, _forged(live, REFRESH_FORMAT))
    assert refresh(d.port, live).status == 200, "a forged secret revoked the family"  # refused, nothing revoked
    return reply


def _expired_family(d: Deployment) -> str:
    """A family of the deployment last used 14 days ago less a second: past its idle end a second later."""
    aged = d.issuer(clock=lambda: time.time() - RefreshPolicy().idle + 1)
    token = aged.issue_pair("ada", claims={"roles": ["viewer"]}).refresh_token
    time.sleep(1.5)
    return token


def _logged_out_family(d: Deployment) -> str:
    pair = tokens(d.port)
    assert request(d.port, "POST", "/auth/logout", headers=bearer(pair["access_token"])).status == 204
    return str(pair["refresh_token"])


def _reused(d: Deployment) -> Reply:
    first = tokens(d.port)
    second = json.loads(refresh(d.port, first["refresh_token"]).body)
    third = json.loads(refresh(d.port, second["refresh_token"]).body)
    reply = refresh(d.port, first["refresh_token"])
    assert refresh(d.port, third["refresh_token"]).status == 400, "the reuse left the family's live token working"
    return reply


def _another_deployments(d: Deployment) -> Reply:
    other = d.issuer(pepper="another-deployment's-pepper")
    pair = other.issue_pair("ada", claims={"roles": ["admin"]})
    reply = refresh(d.port, pair.refresh_token)
    other.refresh(pair.refresh_token)  # refused here, nothing revoked: it still works where it was issued
    return reply


def _json_grant(d: Deployment) -> Reply:
    body = json.dumps({"grant_type": "refresh_token", "refresh_token": tokens(d.port)["refresh_token"]})
    return _form(body, "application/json")(d)


TWO_TOKENS = urlencode([("grant_type", "refresh_token"), ("refresh_token", "bkr_a"), ("refresh_token", "bkr_b")])
PAIR = {"token_type": "Bearer", "expires_in": 900, "scope": "audit:read tasks:read tasks:write"}  # ada's: an admin

REFRESH_ROWS = [
    Row("a login's refresh token", _grant(lambda d: tokens(d.port)["refresh_token"]), ACCEPTED, PAIR),
    Row("refresh: not a token", _grant(lambda d: "bkr_nope"), grant("invalid_grant")),
    Row("refresh: truncated", _grant(lambda d: tokens(d.port)["refresh_token"][:-1]), grant("invalid_grant")),
    Row(
        "refresh: wrong checksum", _grant(lambda d: _flip_last(tokens(d.port)["refresh_token"])), grant("invalid_grant")
    ),
    Row("refresh: forged secret under a live family", _forged_under_a_live_family, grant("invalid_grant")),
    Row("refresh: expired family", _grant(_expired_family), grant("invalid_grant")),
    Row("refresh: logged-out family", _grant(_logged_out_family), grant("invalid_grant")),
    Row("refresh: reused", _reused, grant("invalid_grant")),
    Row("refresh: another deployment's pepper", _another_deployments, grant("invalid_grant")),
    Row("refresh: an access token", _grant(lambda d: tokens(d.port)["access_token"]), grant("invalid_grant")),
    Row("refresh: an API key", _grant(lambda d: d.key()), grant("invalid_grant")),
    Row("refresh: oversized", _grant(lambda d: "bkr_" + "A" * 65_536), grant("invalid_grant")),
    Row("refresh: non-ASCII", _grant(lambda d: tokens(d.port)["refresh_token"][:-1] + "é"), grant("invalid_grant")),
    Row("refresh: two refresh_token fields", _form(TWO_TOKENS), grant("invalid_request")),
    Row("refresh: no refresh_token", lambda d: refresh(d.port, None), grant("invalid_request")),
    Row("refresh: JSON instead of the form", _json_grant, grant("invalid_request")),
    Row(
        "refresh: another grant type",
        _form("grant_type=password&username=ada&password=x"),
        grant("unsupported_grant_type"),
    ),
]

ROWS = KEY_ROWS + REFRESH_ROWS
