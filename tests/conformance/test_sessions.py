"""Logins and refresh tokens on the wire: ``POST /auth/login`` and ``/auth/refresh`` answer alike on seven targets.

The examples are built with ``BACKENDKIT_EXAMPLE_USERS`` = :data:`~tests.conformance.targets.USERS`
(``conftest.py``). A login answers RFC 6749 §5.1 JSON, never cached, whose access token the
example's own verifier accepts; a wrong name or password is the same 401 whichever part is
wrong; a body that is not a login is the 400, 415 or 422 every JSON route of the examples sends.
A refresh rotates the login's family; a spent token used again revokes the whole family (its
refresh tokens and its access tokens), and a logout revokes the family its token came from.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from backendkit.auth import HMACKey, JWTVerifier
from examples import _auth
from tests.conformance.targets import Target, comparable

FORM = "application/x-www-form-urlencoded"
TOKEN_HEADERS = {"content-type": "application/json", "cache-control": "no-store", "pragma": "no-cache"}
ADA = {"username": "ada", "password": "correct-horse"}
BOB = {"username": "bob", "password": "battery:staple"}  # a password with a colon in it


def login(target: Target, credentials: dict[str, Any]) -> Any:
    return target.request("POST", "/auth/login", body=json.dumps(credentials).encode())


def _error(reply: Any) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(reply.body)["error"]
    assert error.pop("request_id") == reply.headers["x-request-id"]
    return error


def test_a_login_answers_rfc_6749_json_with_tokens_the_example_accepts(target: Target) -> None:
    reply = login(target, ADA)
    assert reply.status == 200, reply
    assert {name: reply.headers[name] for name in TOKEN_HEADERS} == TOKEN_HEADERS
    body = json.loads(reply.body)
    assert sorted(body) == ["access_token", "expires_in", "refresh_token", "scope", "token_type"]
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    assert body["scope"] == "audit:read tasks:read tasks:write"  # the admin role's permissions
    assert body["refresh_token"].startswith("bkr_")
    # Signed as the examples' verifier expects (issuer, audience, secret), naming its refresh family.
    claims = JWTVerifier([HMACKey(_auth.secret())], issuer=_auth.ISSUER, audience=_auth.AUDIENCE).claims(
        body["access_token"]
    )
    assert (claims["sub"], claims["roles"], claims["exp"] - claims["iat"]) == ("ada", ["admin"], 900)
    assert isinstance(claims["sid"], str)
    assert body["refresh_token"][4:26] == claims["sid"]
    me = target.request("GET", "/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert json.loads(me.body) == {
        "sub": "ada",
        "roles": ["admin"],
        "scopes": ["audit:read", "tasks:read", "tasks:write"],
        "permissions": ["audit:read", "tasks:read", "tasks:write"],
    }
    viewer = json.loads(login(target, BOB).body)
    assert viewer["scope"] == "tasks:read"
    audit = target.request("GET", "/admin/audit", headers={"Authorization": f"Bearer {viewer['access_token']}"})
    assert audit.status == 403


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "ada", "password": "correct-horsE"},
        {"username": "ada", "password": "correct-horse "},
        {"username": "eve", "password": "correct-horse"},
        {"username": "Ada", "password": "correct-horse"},
        {"username": "bob", "password": "correct-horse"},  # another user's password
        {"username": "ada", "password": "ada:correct-horse:admin"},
    ],
    ids=["wrong-case", "trailing-space", "unknown-user", "name-case", "another-users-password", "the-whole-entry"],
)
def test_wrong_credentials_are_one_401(target: Target, credentials: dict[str, str]) -> None:
    reply = login(target, credentials)
    assert reply.status == 401, reply
    assert reply.headers["www-authenticate"] == 'Bearer realm="api"'
    assert (reply.headers["cache-control"], reply.headers["pragma"]) == ("no-store", "no-cache")
    assert _error(reply) == {"code": "INVALID_CREDENTIALS", "message": "The username or password is wrong."}
    assert credentials["password"].encode() not in reply.body


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"username": "ada", ', 400, "MALFORMED_JSON"),
        (b"\xff{", 400, "MALFORMED_JSON"),
        (b'{"username": "ada"}', 422, "VALIDATION_ERROR"),
        (b'{"username": "ada", "password": 7}', 422, "VALIDATION_ERROR"),
        (b'{"username": "", "password": "x"}', 422, "VALIDATION_ERROR"),
        (b'{"username": "ada", "password": "correct-horse", "role": "admin"}', 422, "VALIDATION_ERROR"),
        (b"[]", 422, "VALIDATION_ERROR"),
        (b"", 422, "VALIDATION_ERROR"),
    ],
    ids=["truncated", "bad-utf8", "no-password", "password-not-str", "empty-name", "extra-field", "array", "empty"],
)
def test_a_body_that_is_not_a_login_is_refused_as_every_json_route_does(
    target: Target, body: bytes, status: int, code: str
) -> None:
    reply = target.request("POST", "/auth/login", body=body)
    assert (reply.status, _error(reply)["code"]) == (status, code), reply
    assert b"correct-horse" not in reply.body


def test_a_login_not_declared_as_json_is_415(target: Target) -> None:
    form = b"username=ada&password=correct-horse"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    reply = target.request("POST", "/auth/login", body=form, headers=headers, json_type=False)
    assert (reply.status, _error(reply)["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_every_refusal_is_identical_on_all_targets(all_targets: dict[str, Target]) -> None:
    cases = {
        "wrong": json.dumps({"username": "ada", "password": "nope"}).encode(),
        "malformed": b"{",
        "missing": b'{"password": "x"}',
    }
    seen: dict[str, dict[str, Any]] = {}
    for name, target in all_targets.items():
        for case, body in cases.items():
            status, headers, raw = comparable(target.request("POST", "/auth/login", body=body))
            headers.pop("x-request-id")
            parsed = json.loads(raw)
            parsed["error"].pop("request_id")
            seen.setdefault(case, {})[name] = (status, headers, parsed)
    for case, replies in seen.items():
        reference = replies["fastapi-testclient"]
        for name, reply in replies.items():
            assert reply == reference, f"{case}: {name} differs from fastapi-testclient"


def _refresh(target: Target, token: str) -> Any:
    form = urlencode({"grant_type": "refresh_token", "refresh_token": token}).encode()
    return target.request("POST", "/auth/refresh", body=form, headers={"Content-Type": FORM}, json_type=False)


def _pair(reply: Any) -> dict[str, Any]:
    assert reply.status == 200, reply
    assert {name: reply.headers[name] for name in TOKEN_HEADERS} == TOKEN_HEADERS
    body: dict[str, Any] = json.loads(reply.body)
    return body


def _me(target: Target, pair: dict[str, Any]) -> Any:
    return target.request("GET", "/me", headers={"Authorization": f"Bearer {pair['access_token']}"})


def test_login_refresh_refresh_then_a_reuse_revokes_the_family(all_targets: dict[str, Target]) -> None:
    refused: dict[str, Any] = {}
    for name, target in all_targets.items():
        first = _pair(login(target, BOB))
        second = _pair(_refresh(target, first["refresh_token"]))
        third = _pair(_refresh(target, second["refresh_token"]))
        # Each refresh is a new pair for the same login: same claims, same family, new tokens.
        assert len({pair["refresh_token"] for pair in (first, second, third)}) == 3
        assert {pair["scope"] for pair in (first, second, third)} == {"tasks:read"}
        assert {json.loads(_me(target, pair).body)["sub"] for pair in (first, second, third)} == {"bob"}
        reuse = _refresh(target, first["refresh_token"])  # spent two rotations ago: a stolen copy
        assert (reuse.status, json.loads(reuse.body)["error"]) == (400, "invalid_grant"), (name, reuse)
        # The whole family is revoked: its live refresh token, its spent ones, and its access tokens.
        for token in (third["refresh_token"], second["refresh_token"], first["refresh_token"]):
            again = _refresh(target, token)
            assert (again.status, json.loads(again.body)["error"]) == (400, "invalid_grant"), (name, again)
        for pair in (first, second, third):
            me = _me(target, pair)
            assert (me.status, json.loads(me.body)["error"]["code"]) == (401, "INVALID_TOKEN"), (name, me)
        assert _me(target, _pair(login(target, BOB))).status == 200  # a new login starts a new family
        status, headers, body = comparable(reuse)
        headers.pop("x-request-id")
        refused[name] = (status, headers, body)
    reference = refused["fastapi-testclient"]
    for name, reply in refused.items():
        assert reply == reference, f"{name} differs from fastapi-testclient"


def test_logout_revokes_the_family_its_token_came_from(target: Target) -> None:
    first = _pair(login(target, ADA))
    second = _pair(_refresh(target, first["refresh_token"]))
    logout = target.request("POST", "/auth/logout", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert logout.status == 204, logout
    assert _me(target, second).status == 401  # the token logged out with
    assert _me(target, first).status == 401  # the family's earlier access token, still unexpired
    again = _refresh(target, second["refresh_token"])
    assert (again.status, json.loads(again.body)["error"]) == (400, "invalid_grant")
