"""10,000 requests to random paths, with random tokens, keys, cursors and query strings, add no series.

A warm-up set of requests of every kind first; then the registry's label sets are
counted, 10,000 more requests go through the test client, and they are counted again.
No user id, key, token, path or query may become a label value.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

import pytest

from tests.observability.prom_apps import fastapi_client, flask_client, observed, series

Send = Callable[[str, str, dict[str, str], bytes | None], int]
METHODS = ("GET", "POST", "PATCH", "BREW", "PURGE")


def one(send: Send, rng: random.Random) -> int:
    """A request of a random kind, with everything a client can choose random."""
    noise = secrets.token_urlsafe(rng.randint(4, 40))
    kind = rng.randrange(6)
    if kind == 0:  # off every route, any method
        return send(rng.choice(METHODS), f"/{noise}/{secrets.token_hex(4)}?{noise}={noise}", {}, None)
    if kind == 1:  # a random token (never a valid one)
        return send("GET", f"/me?{noise}", {"Authorization": f"Bearer {noise}.{noise}.{noise}"}, None)
    if kind == 2:  # a random id on a route
        return send("GET", f"/tasks/{rng.randint(0, 10**12)}?x={noise}", {}, None)
    if kind == 3:  # a random idempotency key
        headers = {"Idempotency-Key": noise, "Content-Type": "application/json"}
        return send("POST", "/tasks", headers, b'{"title": "%s"}' % secrets.token_hex(8).encode())
    if kind == 4:  # a random cursor
        return send("GET", f"/tasks?cursor={noise}", {}, None)
    return send("GET", f"/limited?{noise}", {"X-Request-ID": noise}, None)  # 5 pass, then 429s


def fastapi_sender(client: object) -> Send:
    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> int:
        return int(client.request(method, path, headers=headers, content=body).status_code)  # type: ignore[attr-defined]

    return send


def flask_sender(client: object) -> Send:
    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> int:
        return int(client.open(path, method=method, headers=headers, data=body).status_code)  # type: ignore[attr-defined]

    return send


@pytest.mark.timeout(600)
@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_ten_thousand_random_requests_add_no_series(framework: str) -> None:
    rng = random.Random(20261201)
    with observed() as metrics:
        client = fastapi_client(metrics) if framework == "fastapi" else flask_client(metrics)
        send = fastapi_sender(client) if framework == "fastapi" else flask_sender(client)
        warm = [one(send, rng) for _ in range(300)]
        before = series(metrics)
        statuses = {one(send, rng) for _ in range(10_000)}
        after = series(metrics)
    assert set(warm) == {200, 201, 400, 401, 404, 429}  # every kind of answer, before counting
    assert statuses <= set(warm)  # (the limit's 200s may all have come in the warm-up)
    assert len(before) > 50
    assert after == before, sorted(after - before)[:5]
