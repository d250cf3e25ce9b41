"""Bearer authentication on the wire: the same status, challenge and body on all seven targets.

The examples accept HS256 tokens from ``examples._auth`` (issuer
``https://auth.example.test/``, audience ``tasks-api``); these tests sign theirs
with the same secret the apps read.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from backendkit.auth import HMACKey, issue
from examples import _auth
from tests.conformance.targets import Target, comparable


def _token(*, roles: list[str] | None = None, scope: str = "", **options: Any) -> str:
    key = options.pop("key", None) or HMACKey(_auth.secret(), kid=options.pop("kid", None))
    return issue(
        key,
        options.pop("sub", "user-7"),
        issuer=options.pop("issuer", _auth.ISSUER),
        audience=options.pop("audience", _auth.AUDIENCE),
        claims={"roles": roles if roles is not None else ["viewer"], "scope": scope},
        **options,
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _normalized(reply: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], Any]:
    status, headers, body = reply
    headers = {k: v for k, v in headers.items() if k != "x-request-id"}
    parsed = json.loads(body) if body else None
    if isinstance(parsed, dict) and "error" in parsed:
        parsed["error"]["request_id"] = "N"
    return status, headers, parsed


CHALLENGE = 'Bearer realm="api"'
INVALID_TOKEN = (
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid or has expired."'
)


def _cases() -> dict[str, tuple[str, str, dict[str, str]]]:
    other_secret = HMACKey("some-other-secret-that-is-long-enough-32+")
    now = time.time()
    return {
        "no token": ("GET", "/me", {}),
        "malformed header": ("GET", "/me", {"Authorization": "Bearer"}),
        "two tokens in one header": ("GET", "/me", {"Authorization": "Bearer a b"}),
        "another scheme": ("GET", "/me", {"Authorization": "Basic dXNlcjpwYXNz"}),
        "expired": ("GET", "/me", _bearer(_token(now=now - 3600, lifetime=60))),
        "bad signature": ("GET", "/me", _bearer(_token(key=other_secret))),
        "wrong audience": ("GET", "/me", _bearer(_token(audience="other-api"))),
        "unknown kid": ("GET", "/me", _bearer(_token(kid="no-such-key"))),
        "garbage": ("GET", "/me", _bearer("not.a.jwt")),
        "missing role": ("GET", "/admin/audit", _bearer(_token(roles=["editor"]))),
        "missing scope": ("GET", "/reports", _bearer(_token(scope="tasks:read"))),
    }


EXPECTED = {
    "no token": (401, CHALLENGE, "UNAUTHORIZED"),
    "another scheme": (401, CHALLENGE, "UNAUTHORIZED"),
    "malformed header": (400, 'Bearer realm="api", error="invalid_request"', "INVALID_REQUEST"),
    "two tokens in one header": (400, 'Bearer realm="api", error="invalid_request"', "INVALID_REQUEST"),
    "expired": (401, INVALID_TOKEN, "INVALID_TOKEN"),
    "bad signature": (401, INVALID_TOKEN, "INVALID_TOKEN"),
    "wrong audience": (401, INVALID_TOKEN, "INVALID_TOKEN"),
    "unknown kid": (401, INVALID_TOKEN, "INVALID_TOKEN"),
    "garbage": (401, INVALID_TOKEN, "INVALID_TOKEN"),
    "missing role": (403, None, "FORBIDDEN"),
    "missing scope": (
        403,
        'Bearer realm="api", error="insufficient_scope", scope="reports:read"',
        "INSUFFICIENT_SCOPE",
    ),
}


def test_every_refusal_is_identical_on_all_targets(all_targets: dict[str, Target]) -> None:
    cases = _cases()
    seen: dict[str, dict[str, Any]] = {}
    for name, target in all_targets.items():
        for case, (method, path, headers) in cases.items():
            reply = target.request(method, path, headers=headers)
            status, challenge, code = EXPECTED[case]
            assert reply.status == status, (name, case, reply)
            assert reply.headers.get("www-authenticate") == challenge, (name, case, reply.headers)
            assert json.loads(reply.body)["error"]["code"] == code, (name, case, reply.body)
            seen.setdefault(case, {})[name] = _normalized(comparable(reply))
    for case, replies in seen.items():
        reference = replies["fastapi-testclient"]
        for name, reply in replies.items():
            assert reply == reference, f"{case}: {name} differs from fastapi-testclient"


def test_what_a_token_grants(target: Target) -> None:
    admin = _token(roles=["admin"], scope="reports:read tasks:read", sub="admin-1")
    me = target.request("GET", "/me", headers=_bearer(admin))
    assert me.status == 200, me
    assert json.loads(me.body) == {
        "sub": "admin-1",
        "roles": ["admin"],
        "scopes": ["reports:read", "tasks:read"],
        "permissions": ["audit:read", "tasks:read", "tasks:write"],
    }
    assert "www-authenticate" not in me.headers
    assert target.request("GET", "/admin/audit", headers=_bearer(admin)).status == 200
    assert json.loads(target.request("GET", "/reports", headers=_bearer(admin)).body) == {"ok": True}
    viewer = _bearer(_token(scope="Bearer"))
    assert json.loads(target.request("GET", "/me", headers=viewer).body)["permissions"] == ["tasks:read"]
    assert target.request("GET", "/tasks").status == 200  # the existing routes stay open


def test_logout_revokes_the_token_until_it_expires(all_targets: dict[str, Target]) -> None:
    refused: dict[str, Any] = {}
    for name, target in all_targets.items():
        token = _bearer(_token())
        assert target.request("GET", "/me", headers=token).status == 200
        logout = target.request("POST", "/auth/logout", headers=token)
        assert logout.status == 204, (name, logout)
        assert logout.body == b""
        again = target.request("GET", "/me", headers=token)
        assert again.status == 401, (name, again)
        assert again.headers["www-authenticate"] == INVALID_TOKEN
        refused[name] = _normalized(comparable(again))
        assert target.request("GET", "/me", headers=_bearer(_token())).status == 200  # another token still works
    reference = refused["fastapi-testclient"]
    for name, reply in refused.items():
        assert reply == reference, f"{name} differs from fastapi-testclient"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_the_scheme_name_is_case_insensitive(target: Target, scheme: str) -> None:
    reply = target.request("GET", "/me", headers={"Authorization": f"{scheme} {_token()}"})
    assert reply.status == 200, reply
