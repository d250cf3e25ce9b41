"""The refresh endpoint on the wire: the same status, headers and body on all seven targets.

Each test app serves ``targets.refresh_issuer()``'s endpoint at ``targets.REFRESH_PATH``;
its access tokens are signed with the examples' secret, so the examples' ``/me`` takes them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from backendkit.auth._core.refresh import FORMAT
from tests.conformance.targets import REFRESH_PATH, Target, comparable, refresh_issuer

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _normalized(reply: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], Any]:
    status, headers, body = reply
    headers = {k: v for k, v in headers.items() if k != "x-request-id"}
    parsed = json.loads(body) if body else None
    if isinstance(parsed, dict):
        if isinstance(parsed.get("error"), dict):
            parsed["error"]["request_id"] = "N"
        for name in ("access_token", "refresh_token"):
            if name in parsed:
                parsed[name] = f"<{len(parsed[name])} characters>"
    return status, headers, parsed


def _grant(refresh_token: str | list[str], **more: str) -> bytes:
    tokens = [refresh_token] if isinstance(refresh_token, str) else refresh_token
    return urlencode([("grant_type", "refresh_token"), *(("refresh_token", t) for t in tokens), *more.items()]).encode()


def _post(target: Target, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return target.request("POST", REFRESH_PATH, headers=FORM if headers is None else headers, body=body)


def _cases(live: str) -> dict[str, tuple[bytes, dict[str, str]]]:
    parsed = FORMAT.parse(live)
    assert not isinstance(parsed, str)
    return {
        "malformed": (_grant("bkr_nope"), FORM),
        "truncated": (_grant(live[:-2]), FORM),
        "forged": (_grant(FORMAT.compose(parsed.id, bytes(32))), FORM),
        "another grant": (urlencode({"grant_type": "password", "username": "a"}).encode(), FORM),
        "the token twice": (_grant([live, live]), FORM),
        "no token": (b"grant_type=refresh_token", FORM),
        "JSON": (json.dumps({"grant_type": "refresh_token", "refresh_token": live}).encode(), {}),
        "no body": (b"", FORM),
    }


ERRORS = {
    "malformed": "invalid_grant",
    "truncated": "invalid_grant",
    "forged": "invalid_grant",
    "another grant": "unsupported_grant_type",
    "the token twice": "invalid_request",
    "no token": "invalid_request",
    "JSON": "invalid_request",
    "no body": "invalid_request",
}


def test_every_answer_is_identical_on_all_targets(all_targets: dict[str, Target]) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for name, target in all_targets.items():
        first = refresh_issuer().issue_pair("user-7", claims={"roles": ["viewer"], "scope": ""})
        for case, (body, headers) in _cases(first.refresh_token).items():
            reply = _post(target, body, headers)
            assert (reply.status, json.loads(reply.body)["error"]) == (400, ERRORS[case]), (name, case, reply)
            seen.setdefault(case, {})[name] = _normalized(comparable(reply))
        answered = _post(target, _grant(first.refresh_token))
        assert answered.status == 200, (name, answered)
        assert (answered.headers["cache-control"], answered.headers["pragma"]) == ("no-store", "no-cache")
        access = json.loads(answered.body)["access_token"]
        me = target.request("GET", "/me", headers={"Authorization": f"Bearer {access}"})
        assert (me.status, json.loads(me.body)["sub"]) == (200, "user-7"), (name, me)
        seen.setdefault("a new pair", {})[name] = _normalized(comparable(answered))
        spent = _post(target, _grant(first.refresh_token))
        assert json.loads(spent.body)["error"] == "invalid_grant"
        seen.setdefault("a spent token", {})[name] = _normalized(comparable(spent))
        other_method = target.request("GET", REFRESH_PATH)
        assert (other_method.status, other_method.headers["allow"]) == (405, "POST"), (name, other_method)
        seen.setdefault("GET", {})[name] = _normalized(comparable(other_method))
    for case, replies in seen.items():
        reference = replies["fastapi-testclient"]
        for name, reply in replies.items():
            assert reply == reference, f"{case}: {name} differs from fastapi-testclient"
