"""The examples over real servers, as they are deployed: who the client is, behind a proxy and without one.

The reproduction: under gunicorn the idempotency scope used the socket peer while the rate limit read
``X-Forwarded-For``. Clients A (``X-Forwarded-For: 10.9.0.1``) and B (``10.9.0.2``) behind one proxy shared
idempotency keys, so B received A's ``201`` with ``Idempotent-Replayed: true``. With the examples' set-up
(loopback proxies trusted by ``trusted_proxies``) A and B are two clients for every piece; with no trusted
proxy, a client that writes another's address in ``X-Forwarded-For`` gets neither its idempotency scope nor
its rate-limit bucket.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest

from tests.support.net import Reply, free_port, request
from tests.support.servers import server_process

pytestmark = pytest.mark.socket

SERVERS = {
    # What the examples' documentation runs: gunicorn for the WSGI apps, and each example's own __main__.
    "flask-gunicorn": ["-m", "gunicorn", "examples.flask_app:app", "--workers", "1", "--bind"],
    "django-gunicorn-wsgi": ["-m", "gunicorn", "examples.django_app.wsgi:application", "--workers", "1", "--bind"],
    "fastapi-uvicorn": ["-m", "examples.fastapi_app", "--port"],
    "django-uvicorn-asgi": ["-m", "examples.django_app", "--port"],
    "flask-waitress": ["-m", "examples.flask_app", "--port"],
}


def started(name: str, trusted_proxies: str | None) -> AbstractContextManager[int]:
    port = free_port()
    args = [sys.executable, *SERVERS[name]]
    args.append(f"127.0.0.1:{port}" if args[-1] == "--bind" else str(port))
    env = {} if trusted_proxies is None else {"BACKENDKIT_EXAMPLE_TRUSTED_PROXIES": trusted_proxies}
    return server_process(args, port, env=env)


@pytest.fixture(params=list(SERVERS), scope="module")
def behind_a_proxy(request: pytest.FixtureRequest) -> Iterator[int]:
    with started(request.param, None) as port:  # the examples' own set-up: proxies on loopback
        yield port


@pytest.fixture(params=list(SERVERS), scope="module")
def no_trusted_proxy(request: pytest.FixtureRequest) -> Iterator[int]:
    with started(request.param, "") as port:
        yield port


def post_task(port: int, key: str, title: str, headers: dict[str, str], source: str = "127.0.0.1") -> Reply:
    body = json.dumps({"title": title}).encode()
    headers = {**headers, "Idempotency-Key": key, "Content-Type": "application/json"}
    return request(port, "POST", "/tasks", headers=headers, body=body, source=source)


def limited(port: int, headers: dict[str, str], count: int, source: str = "127.0.0.1") -> list[int]:
    return [request(port, "GET", "/limited", headers=headers, source=source).status for _ in range(count)]


def test_two_clients_behind_one_proxy_are_two_clients(behind_a_proxy: int) -> None:
    port, key, title = behind_a_proxy, uuid.uuid4().hex, f"task {uuid.uuid4().hex}"
    a = {"X-Forwarded-For": "10.9.0.1"}
    b = {"X-Forwarded-For": "10.9.0.2"}
    first = post_task(port, key, title, a)
    other = post_task(port, key, title, b)  # B's own request: A's title is taken
    again = post_task(port, key, title, a)
    assert first.status == 201
    assert (other.status, "idempotent-replayed" in other.headers) == (409, False), other
    assert json.loads(other.body)["error"]["code"] == "CONFLICT"
    assert (again.status, again.body, again.headers.get("idempotent-replayed")) == (201, first.body, "true")
    assert limited(port, a, 6) == [200] * 5 + [429]
    assert limited(port, b, 1) == [200]  # B's bucket is its own


def test_with_no_trusted_proxy_a_client_cannot_pose_as_another(no_trusted_proxy: int) -> None:
    port, key, title = no_trusted_proxy, uuid.uuid4().hex, f"task {uuid.uuid4().hex}"
    victim, attacker = "127.0.0.2", "127.0.0.3"  # two clients, each with an address of its own
    posing = {"X-Forwarded-For": victim, "Forwarded": f"for={victim}"}
    first = post_task(port, key, title, {}, source=victim)
    posed = post_task(port, key, title, posing, source=attacker)
    assert first.status == 201
    assert (posed.status, "idempotent-replayed" in posed.headers) == (409, False), posed  # its own run
    assert limited(port, posing, 6, source=attacker) == [200] * 5 + [429]  # its own bucket, used up
    assert limited(port, {}, 1, source=victim) == [200]  # the victim's is untouched
