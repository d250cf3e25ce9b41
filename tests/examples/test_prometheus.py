"""A real Prometheus scrapes the examples under two worker processes, and PromQL counts exactly what was sent.

Each example runs with its multi-worker command (gunicorn ``-w 2`` for Flask and Django's
WSGI app, ``uvicorn --workers 2`` for FastAPI), ``BACKENDKIT_EXAMPLE_METRICS=1``, a fresh
``PROMETHEUS_MULTIPROC_DIR`` and a redis-server of the test's own for the limits, keys and
revocations. A known mix of requests (200s, 404s on a route and off every route, 429s from
the ``5/minute`` policy, refused tokens, idempotent replays) goes to both workers; Prometheus
(Debian's package, scraping every second) must then return, through ``/api/v1/query``, the
counts the clients saw: per route, method and status, per policy and outcome, per refusal
reason, per idempotency outcome. A scrape answered by one worker covers both.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from backendkit.auth import HMACKey, issue
from examples import _auth
from tests.examples.serving import MULTI_WORKER, at_once, example_env, json_lines
from tests.examples.test_shared_state import both_workers_up
from tests.support.net import Reply, free_port, request
from tests.support.prometheus import Prometheus, binary, start_prometheus
from tests.support.redis import RedisServer
from tests.support.servers import logged_process

pytestmark = [pytest.mark.redis, pytest.mark.socket]

SECRET = "prometheus-test-secret-of-32-bytes!!"
SERVED = "tests.examples.served:app"
SERVERS = {name: MULTI_WORKER[name] for name in ("flask-gunicorn", "django-gunicorn", "fastapi-uvicorn-workers")}
ROUTES = {"/tasks": "/tasks", "/tasks/999999": "/tasks/{task_id}", "/limited": "/limited", "/me": "/me"}
POLICY = "5-per-60s"


@pytest.fixture
def prometheus_binary() -> str:
    return binary("prometheus")


def token(**options: Any) -> str:
    key = HMACKey(options.pop("secret", SECRET))
    return issue(key, "ada", issuer=_auth.ISSUER, audience=_auth.AUDIENCE, claims={"roles": ["viewer"]}, **options)


class Mix:
    """The requests sent, and what the clients saw: the counts Prometheus must return."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests: Counter[tuple[str, str, str]] = Counter()  # (method, route, status)
        self.workers: set[str] = set()
        self._lock = threading.Lock()

    def send(self, method: str, path: str, route: str, **options: Any) -> Reply:
        reply = request(self.port, method, path, **options)
        with self._lock:
            self.requests[(method, route, str(reply.status))] += 1
            self.workers.add(reply.headers["x-served-by"])
        return reply


def send_the_mix(mix: Mix) -> tuple[Counter[str], Counter[str]]:
    """The mix; returns the idempotency outcomes and the token refusals the clients saw."""
    for _ in range(6):
        mix.send("GET", "/tasks", "/tasks")
        mix.send("GET", "/tasks/999999", "/tasks/{task_id}")
    for n in range(4):
        mix.send("GET", f"/no-such-path-{uuid.uuid4().hex}?q={n}", "")  # off every route: one label value
    limited = [mix.send("GET", "/limited", "/limited").status for _ in range(8)]
    assert (limited.count(200), limited.count(429)) == (5, 3)  # the policy holds over both workers (Redis)

    refusals: Counter[str] = Counter()
    tokens = {
        "accepted": token(),
        "bad_signature": token(secret="another-secret-of-at-least-32-bytes!"),
        "expired": token(lifetime=60, now=time.time() - 3600),
        "malformed": "not-a-token",
    }
    for reason, value in tokens.items():
        for _ in range(2):
            reply = mix.send("GET", "/me", "/me", headers={"Authorization": f"Bearer {value}"})
            assert reply.status == (200 if reason == "accepted" else 401), (reason, reply)
            refusals[reason] += 1

    outcomes: Counter[str] = Counter()
    keyed = {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
    for _ in range(5):  # a first run, then replays (a 409 while the first run's response is being kept)
        reply = mix.send("POST", "/tasks", "/tasks", headers=keyed, body=b'{"title": "once"}')
        replayed = reply.headers.get("idempotent-replayed") == "true"
        outcomes["replay" if replayed else "in_use" if reply.status == 409 else "first_run"] += 1
        assert reply.status in (201, 409), reply
    assert outcomes["first_run"] == 1, outcomes
    assert outcomes["replay"] >= 1, outcomes
    return outcomes, refusals


def converged(prometheus: Prometheus, total: int, budget: float = 30.0) -> None:
    """Wait until a scrape after the last request is in Prometheus (its request count is the total sent)."""
    deadline = time.monotonic() + budget
    query = 'sum(http_server_request_duration_seconds_count{job="app"})'
    while True:
        found = prometheus.query(query)
        if found and float(found[0]["value"][1]) == total:
            return
        assert time.monotonic() < deadline, f"Prometheus has {found}, the clients sent {total}"
        time.sleep(0.25)


@pytest.mark.parametrize("server", list(SERVERS))
def test_prometheus_counts_exactly_what_two_workers_answered(
    server: str, fresh_redis: RedisServer, prometheus_binary: str, tmp_path: Path
) -> None:
    command, example, interface = SERVERS[server]
    port = free_port()
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    env = example_env(
        BACKENDKIT_EXAMPLE_METRICS="1",
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        BACKENDKIT_EXAMPLE_REDIS_URL=fresh_redis.url,
        BACKENDKIT_EXAMPLE_JWT_SECRET=SECRET,
        SERVED_EXAMPLE=example,
        SERVED_INTERFACE=interface,
    )
    with logged_process(command(SERVED, port), port, env=env) as output:
        both_workers_up(port)  # probes: left out of the request metrics
        prometheus = start_prometheus(port)
        try:
            mix = Mix(port)
            outcomes, refusals = send_the_mix(mix)
            while len(mix.workers) < 2:  # more 200s, 8 at a time, until both workers have answered some
                at_once(8, lambda: mix.send("GET", "/tasks", "/tasks"), clients=8)
                assert sum(mix.requests.values()) < 500, "one worker answered everything"
            converged(prometheus, sum(mix.requests.values()))
            check(prometheus, mix, outcomes, refusals)
        finally:
            prometheus.stop()
    json_lines(output.stderr)


def check(prometheus: Prometheus, mix: Mix, outcomes: Counter[str], refusals: Counter[str]) -> None:
    assert prometheus.by('up{job="app"}') == {(): 1.0}
    requests = prometheus.by(
        "sum by (http_request_method, http_route, http_response_status_code) "
        '(http_server_request_duration_seconds_count{job="app"})',
        "http_request_method",
        "http_route",
        "http_response_status_code",
    )
    assert requests == {key: float(count) for key, count in mix.requests.items()}

    decisions = prometheus.by("sum by (policy, outcome) (backendkit_ratelimit_decisions_total)", "policy", "outcome")
    assert decisions == {(POLICY, "allowed"): 5.0, (POLICY, "limited"): 3.0}

    verifications = prometheus.by("sum by (outcome, reason) (backendkit_auth_verifications_total)", "outcome", "reason")
    expected = {("refused", reason): float(n) for reason, n in refusals.items() if reason != "accepted"}
    assert verifications == {("accepted", "none"): float(refusals["accepted"]), **expected}

    keys = prometheus.by("sum by (outcome) (backendkit_idempotency_requests_total)", "outcome")
    assert keys == {(outcome,): float(n) for outcome, n in outcomes.items()}

    # Nothing left in flight, not even the scrape (left out from its start), summed over the live workers.
    assert prometheus.by("sum(http_server_active_requests)") == {(): 0.0}
