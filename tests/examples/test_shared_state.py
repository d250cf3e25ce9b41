"""With Redis configured, what a request leaves behind holds in every worker process.

Each example runs with two worker processes (gunicorn's sync workers for Flask and
Django's WSGI app, ``uvicorn --workers 2`` for FastAPI and Django's ASGI app), with the
examples' own commands and a redis-server this test starts. Requests come from four
clients at once, each on a new connection, and every answer names the worker that
served it (``tests/examples/served.py`` adds the header, the app is the example's): a
check counts only if both workers answered. A logged-out token is refused by both (it
was accepted 8 to 15 times in 20 when each process kept its own revocation list), the
``5/minute`` limit of ``/limited`` lets exactly 5 requests through over both (8 of 8 passed
with a store per process), and a retried ``POST /tasks`` is the replay on either worker.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest

from backendkit.auth import HMACKey, issue
from examples import _auth
from tests.examples.serving import MULTI_WORKER, at_once, example_env, get, json_lines
from tests.support.net import Reply, free_port, request
from tests.support.redis import RedisServer
from tests.support.servers import logged_process

pytestmark = [pytest.mark.redis, pytest.mark.socket]

SECRET = "shared-state-test-secret-of-32-bytes!"
SERVED = "tests.examples.served:app"
SERVERS = MULTI_WORKER
REDIS_CHECKS = ("ratelimit:responseTime", "revocations:responseTime", "idempotency:responseTime")


def workers(replies: list[Reply]) -> set[str]:
    return {reply.headers["x-served-by"] for reply in replies}


def from_both(send: Callable[[], Reply], *, each: int, budget: int = 300) -> list[Reply]:
    """Rounds of 20 requests, 8 at a time, until each worker has answered ``each`` of them; all the replies.

    How the kernel spreads connections over the workers is up to it: one worker may take
    a whole round. Counting per worker makes the check mean what it says.
    """
    replies: list[Reply] = []
    while True:
        replies += at_once(20, send, clients=8)
        served = Counter(reply.headers["x-served-by"] for reply in replies)
        if len(served) == 2 and min(served.values()) >= each:
            return replies
        assert len(replies) < budget, f"the workers answered {sorted(served.values())} of {len(replies)}"


def both_workers_up(port: int, budget: float = 60.0) -> None:
    """Wait until both workers answer: the port listens before they have booted, and the first takes all until then."""
    deadline = time.monotonic() + budget
    while len(workers(at_once(4, get(port, "/livez")))) < 2:
        assert time.monotonic() < deadline, "the second worker never answered"


def replayed(port: int, send: Callable[[], Reply], budget: float = 10.0) -> Reply:
    """The first replay of a keyed request (its first run keeps the response once it has been sent: 409 until then)."""
    deadline = time.monotonic() + budget
    while (reply := send()).headers.get("idempotent-replayed") != "true":
        assert reply.status == 409, reply
        assert time.monotonic() < deadline, "never replayed"
        time.sleep(0.05)
    return reply


@pytest.mark.parametrize("server", list(SERVERS))
def test_logout_the_limit_and_the_keys_hold_across_two_workers(server: str, fresh_redis: RedisServer) -> None:
    command, example, interface = SERVERS[server]
    port = free_port()
    env = example_env(
        BACKENDKIT_EXAMPLE_REDIS_URL=fresh_redis.url,
        BACKENDKIT_EXAMPLE_JWT_SECRET=SECRET,
        BACKENDKIT_EXAMPLE_HEALTH_DETAILS="1",
        SERVED_EXAMPLE=example,
        SERVED_INTERFACE=interface,
    )
    token = issue(HMACKey(SECRET), "ada", issuer=_auth.ISSUER, audience=_auth.AUDIENCE, claims={"roles": ["viewer"]})
    bearer = {"Authorization": f"Bearer {token}"}
    key, body = uuid.uuid4().hex, b'{"title": "once"}'
    keyed = {"Idempotency-Key": key, "Content-Type": "application/json"}

    def create() -> Reply:
        return request(port, "POST", "/tasks", headers=keyed, body=body)

    with logged_process(command(SERVED, port), port, env=env) as output:
        both_workers_up(port)
        ready = request(port, "GET", "/readyz?verbose")
        before = from_both(get(port, "/me", bearer), each=1)
        logout = request(port, "POST", "/auth/logout", headers=bearer)
        after = from_both(get(port, "/me", bearer), each=5)
        limited = from_both(get(port, "/limited"), each=5)  # 5 each: 10 would pass with a store per process
        first = create()
        replayed(port, create)
        retries = from_both(create, each=1)

    # The token was good on both workers; after the logout, neither accepts it.
    assert {r.status for r in before} == {200}
    assert logout.status == 204
    assert [r.status for r in after].count(200) == 0, f"{len(after)} reuses"
    assert {(r.status, json.loads(r.body)["error"]["code"]) for r in after} == {(401, "INVALID_TOKEN")}

    # Exactly five pass the 5/minute limit, however many were sent to both workers.
    statuses = [r.status for r in limited]
    assert (statuses.count(200), statuses.count(429)) == (5, len(limited) - 5)

    # The key's record is in Redis: a retry is the replay on either worker (each has its own task list).
    assert first.status == 201
    assert {(r.status, r.body, r.headers.get("idempotent-replayed")) for r in retries} == {(201, first.body, "true")}

    # Readiness checks each store the example keeps in Redis, through the store's own client.
    document = json.loads(ready.body)
    assert ready.status == 200, document
    for name in REDIS_CHECKS:
        [entry] = document["checks"][name]
        assert (entry["status"], entry["componentType"], entry["observedUnit"]) == ("pass", "datastore", "ms")

    json_lines(output.stderr)  # and the log stayed JSON throughout
