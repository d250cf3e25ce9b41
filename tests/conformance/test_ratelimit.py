"""``GET /limited`` (5/minute per client, sliding window) on the wire: the sixth call is refused alike everywhere."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from tests.conformance.targets import Target, comparable
from tests.support.net import request as socket_request
from tests.support.servers import gunicorn

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
    assert other.status == 200


def _limited(port: int, headers: dict[str, str]) -> int:
    return socket_request(port, "GET", "/limited", headers=headers).status


def assert_one_key_per_proxy_header(port: int, where: str) -> None:
    """The examples trust loopback proxies that set X-Forwarded-For; a client's own Forwarded is ignored."""
    # A fixed X-Forwarded-For (what nginx appends) and a different Forwarded each time (what the
    # client wrote, passed through): one client, so five pass. Reading Forwarded let all twelve pass.
    fixed = {"X-Forwarded-For": client_address()}
    statuses = [_limited(port, {**fixed, "Forwarded": f'for="[{client_address()}]"'}) for _ in range(12)]
    assert statuses == [200] * 5 + [429] * 7, (where, statuses)
    # Forwarded alone is not a proxy's word either: every request counts against the peer (which
    # other tests may have used already), so at most five pass.
    statuses = [_limited(port, {"Forwarded": f'for="[{client_address()}]"'}) for _ in range(12)]
    assert statuses.count(429) >= 7, (where, statuses)


@pytest.mark.socket
def test_a_clients_own_forwarded_header_never_picks_its_key(all_targets: dict[str, Target]) -> None:
    for name, target in all_targets.items():
        if target.port is not None:
            assert_one_key_per_proxy_header(target.port, name)


@pytest.mark.socket
def test_the_same_under_gunicorn_which_leaves_the_peer_as_it_is() -> None:
    # gunicorn's sync workers do not rewrite REMOTE_ADDR: the key function alone reads the header.
    with gunicorn("examples.django_app.wsgi:application") as port:
        assert_one_key_per_proxy_header(port, "django-gunicorn")
