"""The credentials attack corpus over real servers: each row's answer on every framework's example, never a 500.

Each example runs as it is deployed, with its own command (``python -m`` under uvicorn or
waitress, gunicorn for Django's WSGI app), refresh families in a redis-server, and API
keys in the store ``BACKENDKIT_EXAMPLE_APIKEYS_URL`` names: a SQLite file or Redis. The
rows are in ``tests/auth/credentials_corpus.py``. When each server stops, its log is
checked: JSON throughout, and no API key or refresh token in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from backendkit.apikeys import store_from_url
from backendkit.auth.redis import RedisRefreshStore
from tests.auth.credentials_corpus import ROWS, Answer, Deployment, Row
from tests.examples.credentials import USERS, grant_error
from tests.examples.serving import APPS, example_env, gunicorn, json_lines, python_m
from tests.support.net import Reply, free_port
from tests.support.redis import RedisServer
from tests.support.servers import logged_process

pytestmark = [pytest.mark.redis, pytest.mark.socket]

SECRET = "corpus-test-secret-of-at-least-32-bytes"
PEPPER = "the-corpus-deployment-pepper"
SERVERS: dict[str, Callable[[int], list[str]]] = {
    "fastapi-uvicorn": lambda port: python_m("examples.fastapi_app", port),
    "flask-waitress": lambda port: python_m("examples.flask_app", port),
    "django-uvicorn-asgi": lambda port: python_m("examples.django_app", port),
    "django-gunicorn-wsgi": lambda port: gunicorn(APPS["django-wsgi"], port),
}
STORES = ("sqlite", "redis")
CREDENTIAL = re.compile(r"bk_(live|test)_[0-9A-Za-z]{12}_|bkr_[0-9A-Za-z]{22}_")


@pytest.fixture(scope="module", params=[(server, store) for server in SERVERS for store in STORES], ids="-".join)
def deployment(
    request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    server, store = request.param
    keys = f"sqlite:///{tmp_path_factory.mktemp('keys')}/keys.db" if store == "sqlite" else _db(redis_server, 2)
    port = free_port()
    env = example_env(
        BACKENDKIT_EXAMPLE_REDIS_URL=redis_server.url,
        BACKENDKIT_EXAMPLE_APIKEYS_URL=keys,
        BACKENDKIT_EXAMPLE_JWT_SECRET=SECRET,
        BACKENDKIT_EXAMPLE_REFRESH_PEPPER=PEPPER,
        BACKENDKIT_EXAMPLE_USERS=USERS,
    )
    key_store, families = store_from_url(keys), RedisRefreshStore.from_url(redis_server.url)
    try:
        with logged_process(SERVERS[server](port), port, env=env) as output:
            yield Deployment(f"{server}-{store}", port, key_store, families, SECRET, PEPPER)
    finally:
        key_store.close()  # type: ignore[attr-defined]  (both stores of the URLs have one)
        families.close()
    json_lines(output.stderr)
    leaked = CREDENTIAL.search(output.stdout + output.stderr)
    assert leaked is None, f"a credential reached {server}'s log: {leaked}"


def _db(server: RedisServer, number: int) -> str:
    return server.url.rsplit("/", 1)[0] + f"/{number}"


def check(reply: Reply, answer: Answer, body: dict[str, Any] | None) -> None:
    status, challenge, code = answer
    assert reply.status == status, reply
    if status == 200:
        got = json.loads(reply.body)
        assert {name: got.get(name) for name in body or {}} == body, got
        return
    if code.islower():  # RFC 6749 §5.2, on the refresh endpoint
        assert grant_error(reply) == code
        assert "www-authenticate" not in reply.headers
        return
    assert reply.headers.get("www-authenticate") == challenge, reply.headers
    assert json.loads(reply.body)["error"]["code"] == code, reply.body


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_each_credential_gets_its_defined_answer(deployment: Deployment, row: Row) -> None:
    check(row.send(deployment), row.answer, row.body)
