"""API keys on the wire: ``X-API-Key`` and ``Authorization: Bearer <key>`` answer alike on seven targets.

The examples take keys from the session's store (:data:`~tests.conformance.targets.KEYS_URL`, a SQLite
file: ``conftest.py`` and ``django_settings.py``). A key authenticates as its owner with its roles on
``/me`` and the guarded routes, in either header; every bad key is the same 401 as a bad token; both
headers at once, or two key lines, are a 400; an empty key line is no credential (the bare 401).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from backendkit.apikeys import APIKeys, NewKey, store_from_url
from tests.conformance.targets import KEYS_URL, Target, comparable


@pytest.fixture(scope="module")
def keys() -> dict[str, NewKey]:
    manager = APIKeys(store_from_url(KEYS_URL))
    made = {
        "editor": manager.create("deploy-bot", name="conformance", roles=["editor"]),
        "viewer": manager.create("reader-bot", roles=["viewer"]),
        "revoked": manager.create("gone-bot", roles=["admin"]),
        "expired": manager.create("old-bot", roles=["admin"], expires_in=0.001),
        "test": APIKeys(manager.store, prefix="bk_test_").create("test-bot", roles=["admin"]),
    }
    manager.revoke(made["revoked"].record.id)
    return made


def _bad_keys(made: dict[str, NewKey]) -> dict[str, str]:
    key = made["editor"].key
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    wrong_secret = key[:21] + ("x" if key[21] != "x" else "y") + key[22:]
    return {
        "truncated": key[:-1],
        "wrong check digits": flipped,
        "wrong secret": wrong_secret[:-6] + _check(wrong_secret[:-6]),
        "unknown id": "bk_live_" + "0" * 12 + key[20:-6] + _check("bk_live_" + "0" * 12 + key[20:-6]),
        "revoked": made["revoked"].key,
        "expired": made["expired"].key,
        "a test key": made["test"].key,
        "not a key": "hunter2",
    }


def _check(body: str) -> str:
    from backendkit.auth._core.opaque import check_digits

    return body + check_digits(body)


def _answer(reply: Any) -> tuple[int, dict[str, str], Any]:
    status, headers, raw = comparable(reply)
    headers.pop("x-request-id", None)
    body = json.loads(raw)
    if isinstance(body.get("error"), dict):
        body["error"].pop("request_id", None)
    return status, headers, body


def test_a_key_in_either_header_is_its_owner_with_its_roles(target: Target, keys: dict[str, NewKey]) -> None:
    editor, viewer = keys["editor"].key, keys["viewer"].key
    for headers in ({"X-API-Key": editor}, {"Authorization": f"Bearer {editor}"}):
        me = target.request("GET", "/me", headers=headers)
        assert me.status == 200, (target.name, me)
        body = json.loads(me.body)
        assert (body["sub"], body["roles"]) == ("deploy-bot", ["editor"])
        assert "tasks:write" in body["permissions"]
    # A guard refuses a key as it refuses a token: the viewer may not read the audit log.
    audit = target.request("GET", "/admin/audit", headers={"X-API-Key": viewer})
    assert audit.status == 403, (target.name, audit)


def test_every_answer_to_a_key_is_identical_on_all_targets(
    all_targets: dict[str, Target], keys: dict[str, NewKey]
) -> None:
    cases: dict[str, dict[str, str]] = {
        name: {"X-API-Key": value} for name, value in _bad_keys(keys).items() if name != "not a key"
    }
    cases["not a key, as a bearer token"] = {"Authorization": "Bearer hunter2"}
    cases["both headers"] = {"X-API-Key": keys["editor"].key, "Authorization": f"Bearer {keys['viewer'].key}"}
    cases["an empty key line"] = {"X-API-Key": ""}
    cases["a viewer on the audit log"] = {"X-API-Key": keys["viewer"].key}
    seen: dict[str, dict[str, Any]] = {}
    for name, target in all_targets.items():
        for case, headers in cases.items():
            path = "/admin/audit" if case == "a viewer on the audit log" else "/me"
            seen.setdefault(case, {})[name] = _answer(target.request("GET", path, headers=headers))
    for case, replies in seen.items():
        reference = replies["fastapi-testclient"]
        for name, reply in replies.items():
            assert reply == reference, f"{case}: {name} differs from fastapi-testclient"
    for case in _bad_keys(keys):
        if case == "not a key":
            continue
        status, headers, body = seen[case]["fastapi-testclient"]
        assert status == 401, case
        assert headers["www-authenticate"] == (
            'Bearer realm="api", error="invalid_token", error_description="The access token is invalid or has expired."'
        )
        assert body["error"]["code"] == "INVALID_TOKEN"
    assert seen["both headers"]["fastapi-testclient"][0] == 400
    assert seen["an empty key line"]["fastapi-testclient"][2]["error"]["code"] == "UNAUTHORIZED"
    assert seen["a viewer on the audit log"]["fastapi-testclient"][0] == 403
