"""``GET /limited`` (5/minute per client, sliding window) on the wire: the sixth call is refused alike everywhere."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from tests.conformance.targets import Target, comparable

POLICY = '"5-per-60s";q=5;w=60'


def client_address() -> str:
    # A fresh address per run: the examples trust loopback proxies and key by X-Forwarded-For.
    n = uuid.uuid4().int
    return f"2001:db8:{n % 65536:x}:{(n >> 16) % 65536:x}::1"


def normalized(reply: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], Any]:
    """Status, headers and body with the seconds blanked: they depend on when in the window each target ran."""
    status, headers, body = reply
    headers = {k: re.sub(r"\bt=\d+", "t=N", v) for k, v in headers.items() if k != "x-request-id"}
    if "retry-after" in headers:
        headers["retry-after"] = "N"
    parsed = json.loads(body)
    if "error" in parsed:
        parsed["error"]["details"]["retry_after"] = "N"
        parsed["error"]["request_id"] = "N"
    return status, headers, parsed


def test_sixth_call_is_refused_with_identical_headers_and_body(all_targets: dict[str, Target]) -> None:
    sixth: dict[str, tuple[int, dict[str, str], Any]] = {}
    for name, target in all_targets.items():
        headers = {"X-Forwarded-For": client_address()}
        for remaining in (4, 3, 2, 1, 0):
            reply = target.request("GET", "/limited", headers=headers)
            assert reply.status == 200, (name, reply)
            assert json.loads(reply.body) == {"ok": True}
            assert reply.headers["ratelimit-policy"] == POLICY
            assert re.fullmatch(rf'"5-per-60s";r={remaining};t=\d+', reply.headers["ratelimit"]), reply.headers
            assert "retry-after" not in reply.headers  # on a refusal only
        refused = target.request("GET", "/limited", headers=headers)
        assert refused.status == 429, (name, refused)
        error = json.loads(refused.body)["error"]
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= 72  # to the end of this window, then a fifth of the next (the estimate decays)
        assert error["details"] == {"retry_after": wait, "policy": "5-per-60s"}
        reset = int(re.fullmatch(r'"5-per-60s";r=0;t=(\d+)', refused.headers["ratelimit"]).group(1))  # type: ignore[union-attr]
        assert wait <= reset <= 120
        sixth[name] = normalized(comparable(refused))
    reference = sixth["fastapi-testclient"]
    assert reference[0] == 429
    assert reference[2]["error"]["code"] == "RATE_LIMITED"
    for name, reply in sixth.items():
        assert reply == reference, f"{name} differs from fastapi-testclient"


def test_other_clients_are_counted_apart(target: Target) -> None:
    first, second = client_address(), client_address()
    for _ in range(5):
        target.request("GET", "/limited", headers={"X-Forwarded-For": first})
    assert target.request("GET", "/limited", headers={"X-Forwarded-For": first}).status == 429
    other = target.request("GET", "/limited", headers={"X-Forwarded-For": second})
    if target.name == "fastapi-testclient":
        # Starlette's test client is peer "testclient", no trusted proxy: the header is ignored.
        assert other.status == 429
    else:
        assert other.status == 200
