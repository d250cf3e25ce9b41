"""Who the client is, on all seven targets: the examples trust proxies on loopback, and every piece agrees.

Two clients behind the one proxy (every target's requests come from loopback) are two clients for the
idempotency keys, the rate limit and the access log, with the same bytes everywhere. The test clients
showed the defect: the idempotency scope and the log used the socket peer, the rate limit the header.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from tests.conformance.targets import Target, comparable
from tests.conformance.test_logging import lines_of
from tests.support.logs import LineCatcher
from tests.support.net import Reply

ID = re.compile(r'"request_id":"[0-9a-f]{32}"')


def client() -> dict[str, str]:
    n = uuid.uuid4().int
    return {"X-Forwarded-For": f"10.{n % 200}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"}


def post(target: Target, key: str, title: str, headers: dict[str, str]) -> Reply:
    body = json.dumps({"title": title}).encode()
    return target.request("POST", "/tasks", headers={**headers, "Idempotency-Key": key}, body=body)


def replies_of_b(target: Target) -> list[tuple[int, dict[str, str], Any]]:
    """A creates a task with a key; B, behind the same proxy, sends the same key and body, then uses /limited."""
    a, b = client(), client()
    key, title = "k" + uuid.uuid4().hex[:20], f"t{uuid.uuid4().hex[:20]}"  # one length everywhere
    first = post(target, key, title, a)
    assert first.status == 201, (target.name, first)
    other = post(target, key, title, b)
    again = post(target, key, title, a)
    assert (again.status, again.body, again.headers.get("idempotent-replayed")) == (201, first.body, "true")
    for _ in range(5):
        target.request("GET", "/limited", headers=a)
    assert target.request("GET", "/limited", headers=a).status == 429, target.name
    allowed = target.request("GET", "/limited", headers=b)
    status, headers, body = comparable(other)  # an error: the same bytes everywhere
    refused = (
        status,
        {k: v for k, v in headers.items() if k != "x-request-id"},
        ID.sub('"request_id":"N"', body.decode()),
    )
    # A success body is each framework's own JSON spelling (Flask adds a newline): compared parsed.
    limits = {k: re.sub(r"\bt=\d+", "t=N", v) for k, v in allowed.headers.items() if k.startswith("ratelimit")}
    return [refused, (allowed.status, limits, json.loads(allowed.body))]


def test_two_clients_behind_the_proxy_are_two_clients(target: Target) -> None:
    (status, headers, body), (limited, _, _) = replies_of_b(target)
    assert (status, "idempotent-replayed" in headers) == (409, False)  # B's own request: A's title is taken
    assert json.loads(body)["error"]["code"] == "CONFLICT"
    assert limited == 200  # B's bucket is its own


def test_the_same_bytes_on_every_target(all_targets: dict[str, Target]) -> None:
    seen: dict[str, Any] = {name: replies_of_b(target) for name, target in all_targets.items()}
    reference = seen["fastapi-testclient"]
    for name, replies in seen.items():
        assert replies == reference, f"{name} differs from fastapi-testclient"


def test_the_access_line_names_the_forwarded_client(target: Target, log_lines: LineCatcher) -> None:
    forwarded, rid = client(), f"client-{target.name}-{uuid.uuid4().hex[:8]}"
    target.request("GET", "/tasks/999999", headers={**forwarded, "X-Request-ID": rid})
    [access] = lines_of(log_lines, rid, "backendkit.access")
    assert access["client_ip"] == forwarded["X-Forwarded-For"]
    own = f"own-{rid}"  # a client's own Forwarded is not what the proxy wrote: the proxy is the client
    target.request("GET", "/tasks/999999", headers={"Forwarded": "for=10.9.9.9", "X-Request-ID": own})
    [access] = lines_of(log_lines, own, "backendkit.access")
    assert access["client_ip"] == "127.0.0.1"
