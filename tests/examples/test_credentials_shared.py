"""With Redis configured, refresh-token families and API keys hold across two worker processes.

Each example runs with two workers (gunicorn's sync workers for Flask and Django's WSGI
app, ``uvicorn --workers 2`` for FastAPI and Django's ASGI app) and the examples' own
commands, sharing a redis-server this test starts; every answer names the worker that
served it (``X-Served-By``, ``tests/examples/served.py``).

- A reuse is caught whichever worker sees it: a login, a refresh served by one worker,
  a second refresh, then the first refresh token sent again and served by the *other*
  worker: ``invalid_grant``, and the family is revoked on both (its refresh token
  refused, each of its access tokens refused on ``/me``). Which worker takes a
  connection is the kernel's choice: the reuse is sent among other requests, and the
  flow is repeated, each run checked in full, until the reuse lands on the other worker.
- A retry is not a reuse: the token spent last, sent again by eight clients at once
  until both workers have answered, gets the same pair its first use got, every time,
  and the family lives on.
- An API key made with the command line works on both workers; revoked with it, it is
  refused by both within the verifier's cache lifetime (5 s).
- Readiness reads the refresh families' store and the key store.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.examples.credentials import INVALID_TOKEN, USERS, apikeys, bearer, grant_error, new_key, refresh, tokens
from tests.examples.serving import MULTI_WORKER, at_once, example_env, get, json_lines
from tests.examples.test_shared_state import SERVED, both_workers_up, from_both
from tests.support.net import Reply, free_port, request
from tests.support.redis import RedisServer
from tests.support.servers import logged_process

pytestmark = [pytest.mark.redis, pytest.mark.socket]

SECRET = "credentials-test-secret-of-32-bytes!!"
TRIALS = 24  # each run lands the reuse on the other worker with probability 1/2: 2^-24 to never see it


def _pair(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    body: dict[str, Any] = json.loads(reply.body)
    return body


def _refused_on_both(port: int, token: str) -> None:
    replies = from_both(get(port, "/me", bearer(token)), each=2)
    assert {(r.status, r.headers.get("www-authenticate")) for r in replies} == {(401, INVALID_TOKEN)}


def _in_a_crowd(port: int, send: Callable[[], Reply]) -> Reply:
    """``send()``'s reply, sent among seven other requests at once: whichever worker is free takes it.

    Alone, a request lands on the worker that took the last one more often than not (it is back
    at accept() first): in the crowd, both workers are taking requests.
    """
    with ThreadPoolExecutor(8) as pool:
        others = [pool.submit(get(port, "/livez")) for _ in range(7)]
        mine = pool.submit(send)
        for other in others:
            assert other.result().status == 200
        return mine.result()


def _reuse_on_the_other_worker(port: int) -> None:
    runs: list[tuple[str, str]] = []
    while len(runs) < TRIALS:
        first = tokens(port)
        rotated = refresh(port, first["refresh_token"])
        second = _pair(rotated)
        third = _pair(refresh(port, second["refresh_token"]))
        spent = first["refresh_token"]  # two rotations ago: a thief's copy
        reuse = _in_a_crowd(port, functools.partial(refresh, port, spent))
        assert grant_error(reuse) == "invalid_grant"
        assert grant_error(refresh(port, third["refresh_token"])) == "invalid_grant"  # the family is revoked
        runs.append((rotated.headers["x-served-by"], reuse.headers["x-served-by"]))
        if runs[-1][0] != runs[-1][1]:
            break
    rotated_by, caught_by = runs[-1]
    assert rotated_by != caught_by, f"the reuse never landed on the other worker in {TRIALS} runs"
    for access in (first, second, third):  # revoked in the shared list: no worker accepts them
        _refused_on_both(port, access["access_token"])


def _retries_get_the_same_pair(port: int) -> None:
    first = tokens(port)
    spent = _pair(refresh(port, first["refresh_token"]))
    spent_at = time.monotonic()
    retries: list[Reply] = []
    while len({r.headers["x-served-by"] for r in retries}) < 2:  # within the 10 s reuse window
        assert time.monotonic() - spent_at < 6, "one worker answered every retry"
        retries += at_once(8, lambda: refresh(port, first["refresh_token"]), clients=8)
    assert {reply.status for reply in retries} == {200}, retries
    assert {json.loads(r.body)["refresh_token"] for r in retries} == {spent["refresh_token"]}
    assert {json.loads(r.body)["access_token"] for r in retries} == {spent["access_token"]}
    assert _pair(refresh(port, spent["refresh_token"]))["refresh_token"] != spent["refresh_token"]  # it lives on


def _revoked_key_refused_by_both(port: int, store: str) -> None:
    key = new_key(store, "deploy-bot", "--roles", "editor")
    with_key: Callable[[], Reply] = get(port, "/me", {"X-API-Key": key})
    accepted = from_both(with_key, each=2)
    assert {(r.status, json.loads(r.body)["sub"]) for r in accepted} == {(200, "deploy-bot")}
    apikeys(store, "revoke", key[len("bk_live_") : len("bk_live_") + 12])
    revoked_at = time.monotonic()
    while {r.status for r in at_once(8, with_key)} != {401}:
        assert time.monotonic() - revoked_at < 5 + 2, "a worker still accepts the revoked key"
        time.sleep(0.2)
    refused = from_both(with_key, each=2)
    assert {(r.status, r.headers["www-authenticate"]) for r in refused} == {(401, INVALID_TOKEN)}


@pytest.mark.parametrize("server", list(MULTI_WORKER))
def test_refresh_families_and_api_keys_hold_across_two_workers(server: str, fresh_redis: RedisServer) -> None:
    command, example, interface = MULTI_WORKER[server]
    port = free_port()
    keys = fresh_redis.url.rsplit("/", 1)[0] + "/1"  # the keys in another database of the same server
    env = example_env(
        BACKENDKIT_EXAMPLE_REDIS_URL=fresh_redis.url,
        BACKENDKIT_EXAMPLE_APIKEYS_URL=keys,
        BACKENDKIT_EXAMPLE_JWT_SECRET=SECRET,
        BACKENDKIT_EXAMPLE_USERS=USERS,
        BACKENDKIT_EXAMPLE_REFRESH_PEPPER="a-pepper-of-this-deployment",
        BACKENDKIT_EXAMPLE_HEALTH_DETAILS="1",
        SERVED_EXAMPLE=example,
        SERVED_INTERFACE=interface,
    )
    with logged_process(command(SERVED, port), port, env=env) as output:
        both_workers_up(port)
        ready = request(port, "GET", "/readyz?verbose")
        _reuse_on_the_other_worker(port)
        _retries_get_the_same_pair(port)
        _revoked_key_refused_by_both(port, keys)
    # Readiness reads both new stores, through their own clients.
    document = json.loads(ready.body)
    assert ready.status == 200, document
    for name in ("refresh_families:responseTime", "key_records:responseTime"):
        [entry] = document["checks"][name]
        assert (entry["status"], entry["componentType"], entry["observedUnit"]) == ("pass", "datastore", "ms")
    lines = json_lines(output.stderr)
    reuses = [line for line in lines if line["message"].startswith("a spent refresh token was used again")]
    assert reuses, "the reuse was not logged"
    # No credential in the log (the redactor keeps the prefix of one: it must have nothing else to hide).
    assert re.search(r"bkr_[0-9A-Za-z]{22}_|bk_live_[0-9A-Za-z]{12}_", output.stdout + output.stderr) is None
