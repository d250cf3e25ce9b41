"""The Flask example's HTTP semantics, through the test client and over a real socket (waitress): the same bytes.

What the brief asks of every example: tagged tasks and their 304, ``PUT /tasks/<id>``
under ``If-Match``, the two API versions, the retired ``/legacy/tasks``, the headers on
errors too; and the lost update prevented under concurrent writers.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from backendkit.http import ETag
from tests.support.net import Reply
from tests.support.net import request as socket_request
from tests.support.servers import waitress_server

Send = Callable[..., Reply]
VOLATILE = frozenset({"x-request-id", "date", "server", "connection"})
CREATED = re.compile(rb'"created_at":"[^"]*"')
V1_HEADERS = {
    "deprecation": "@1780272000",
    "sunset": "Tue, 01 Jun 2027 00:00:00 GMT",
    "link": '<https://tasks.example.com/docs/migrate-to-v2>; rel="deprecation"; type="text/html"',
}
LEGACY_HEADERS = {
    "deprecation": "@1735689600",
    "sunset": "Thu, 01 Jan 2026 00:00:00 GMT",
    "link": V1_HEADERS["link"],
}


def _app() -> Flask:
    from examples.flask_app import create_app

    return create_app()


def _client(app: Flask) -> Send:
    client = app.test_client()

    def send(method: str, path: str, headers: dict[str, str] | None = None, body: Any = None) -> Reply:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        hdrs = {"Content-Type": "application/json", **(headers or {})} if body is not None else (headers or {})
        r = client.open(path, method=method, headers=hdrs, data=data)
        merged: dict[str, str] = {}
        for name, value in r.headers.items():
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return Reply(r.status_code, merged, r.get_data())

    return send


def _socket(port: int) -> Send:
    def send(method: str, path: str, headers: dict[str, str] | None = None, body: Any = None) -> Reply:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        hdrs = {"Content-Type": "application/json", **(headers or {})} if body is not None else (headers or {})
        return socket_request(port, method, path, headers=hdrs, body=data)

    return send


@pytest.fixture(params=["testclient", "waitress"])
def send(request: pytest.FixtureRequest) -> Iterator[Send]:
    app = _app()
    if request.param == "testclient":
        yield _client(app)
        return
    with waitress_server(app) as port:
        yield _socket(port)


def _error(reply: Reply) -> dict[str, Any]:
    error: dict[str, Any] = json.loads(reply.body)["error"]
    return error


def _deprecation(reply: Reply) -> dict[str, str | None]:
    return {name: reply.headers.get(name) for name in ("deprecation", "sunset", "link")}


def test_a_task_is_tagged_with_its_version_and_a_current_copy_is_304(send: Send) -> None:
    created = send("POST", "/tasks", {"Idempotency-Key": "k-1"}, {"title": "a"})
    assert (created.status, created.headers["etag"]) == (201, '"v1"')
    replayed = send("POST", "/tasks", {"Idempotency-Key": "k-1"}, {"title": "a"})
    assert (replayed.status, replayed.headers["etag"], replayed.body) == (201, '"v1"', created.body)
    got = send("GET", "/tasks/1")
    assert (got.status, got.headers["etag"], json.loads(got.body)["version"]) == (200, '"v1"', 1)
    for method in ("GET", "HEAD"):
        current = send(method, "/tasks/1", {"If-None-Match": '"v1"'})
        assert (current.status, current.body, current.headers["etag"]) == (304, b"", '"v1"')
        assert "content-type" not in current.headers
        assert "content-length" not in current.headers
        assert current.headers["x-content-type-options"] == "nosniff"  # the security headers still go
    assert send("GET", "/tasks/1", {"If-None-Match": '"v0"'}).status == 200


def test_every_other_200_get_is_tagged_from_its_bytes_and_head_gets_the_same_tag(send: Send) -> None:
    send("POST", "/tasks", body={"title": "a"})
    for path in ("/tasks", "/limited"):
        got = send("GET", path)
        assert got.headers["etag"] == str(ETag.of(got.body)), path
        head = send("HEAD", path)
        assert (head.status, head.body, head.headers["etag"]) == (200, b"", got.headers["etag"]), path
        assert send("GET", path, {"If-None-Match": got.headers["etag"]}).status == 304
    # FastAPI's bytes, so FastAPI's tag: compact JSON, no newline at the end.
    assert send("GET", "/limited").headers["etag"] == str(ETag.of(b'{"ok":true}'))


def test_put_needs_a_precondition_before_anything_else(send: Send) -> None:
    send("POST", "/tasks", body={"title": "a"})
    for body in ({"title": "b"}, {"title": 7}, b"{not json"):
        refused = send("PUT", "/tasks/1", body=body)
        assert (refused.status, _error(refused)["code"]) == (428, "PRECONDITION_REQUIRED"), body
    assert send("PUT", "/tasks/99", body={"title": "b"}).status == 428  # before the task is looked up too


def test_put_validates_its_body_as_post_does(send: Send) -> None:
    send("POST", "/tasks", body={"title": "a"})
    guard = {"If-Match": '"v1"'}
    assert _error(send("PUT", "/tasks/1", guard, b"{not json"))["code"] == "MALFORMED_JSON"
    assert send("PUT", "/tasks/1", guard, {"title": 7}).status == 422
    wrong_type = send("PUT", "/tasks/1", {**guard, "Content-Type": "text/plain"}, b"title=a")
    assert wrong_type.status == 415


def test_put_replaces_a_current_task_and_refuses_a_stale_one(send: Send) -> None:
    send("POST", "/tasks", body={"title": "a"})
    send("POST", "/tasks", body={"title": "b"})
    replaced = send("PUT", "/tasks/1", {"If-Match": '"v1"'}, {"title": "c", "priority": 5})
    assert (replaced.status, replaced.headers["etag"]) == (200, '"v2"')
    assert json.loads(replaced.body) | {"created_at": None} == {
        "id": 1,
        "title": "c",
        "priority": 5,
        "created_at": None,
        "version": 2,
    }
    stale = send("PUT", "/tasks/1", {"If-Match": '"v1"'}, {"title": "d"})
    assert (stale.status, stale.headers["etag"]) == (412, '"v2"')
    assert _error(stale)["code"] == "PRECONDITION_FAILED"
    assert _error(stale)["details"] == {"etag": '"v2"'}
    assert send("GET", "/tasks/1").headers["etag"] == '"v2"'
    duplicate = send("PUT", "/tasks/2", {"If-Match": '"v1"'}, {"title": "c"})
    assert (duplicate.status, _error(duplicate)["code"]) == (409, "CONFLICT")
    missing = send("PUT", "/tasks/99", {"If-Match": '"v1"'}, {"title": "e"})
    assert (missing.status, _error(missing)["message"]) == (404, "No task with this id.")
    malformed = send("PUT", "/tasks/1", {"If-Match": "v2"}, {"title": "e"})
    assert (malformed.status, _error(malformed)["code"]) == (400, "MALFORMED_PRECONDITION")


def test_the_two_versions_and_one_not_served(send: Send) -> None:
    send("POST", "/tasks", body={"title": "a"})
    v1 = send("GET", "/v1/tasks/1")
    assert (v1.status, json.loads(v1.body), _deprecation(v1)) == (
        200,
        {"id": 1, "title": "a", "priority": 3},
        V1_HEADERS,
    )
    missing = send("GET", "/v1/tasks/99")
    assert (missing.status, _error(missing)["code"], _deprecation(missing)) == (404, "NOT_FOUND", V1_HEADERS)
    not_allowed = send("DELETE", "/v1/tasks/1")
    assert (not_allowed.status, _deprecation(not_allowed)) == (405, V1_HEADERS)
    v2 = send("GET", "/v2/tasks/1")
    assert (v2.status, v2.headers["etag"], json.loads(v2.body)["version"]) == (200, '"v1"', 1)
    assert _deprecation(v2) == dict.fromkeys(V1_HEADERS)
    unknown = send("GET", "/v9/tasks/1")
    assert unknown.status == 404
    assert _error(unknown)["code"] == "UNSUPPORTED_VERSION"
    assert _error(unknown)["details"] == {"requested": "9", "supported": ["1", "2"]}


def test_the_retired_route_is_gone_before_authentication(send: Send) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        gone = send("GET", "/legacy/tasks", headers)
        assert (gone.status, _error(gone)["code"], _deprecation(gone)) == (410, "GONE", LEGACY_HEADERS)


def test_the_test_client_and_the_server_send_the_same_bytes() -> None:
    script: list[tuple[str, str, dict[str, str], Any]] = [
        ("POST", "/tasks", {"Idempotency-Key": "k-1"}, {"title": "a"}),
        ("POST", "/tasks", {"Idempotency-Key": "k-1"}, {"title": "a"}),
        ("GET", "/tasks/1", {"If-None-Match": '"v1"'}, None),
        ("HEAD", "/tasks/1", {}, None),
        ("PUT", "/tasks/1", {}, {"title": "b"}),
        ("PUT", "/tasks/1", {"If-Match": "v1"}, {"title": "b"}),
        ("PUT", "/tasks/1", {"If-Match": '"v0"'}, {"title": "b"}),
        ("PUT", "/tasks/1", {"If-Match": '"v1"'}, {"title": "b"}),
        ("GET", "/v1/tasks/1", {}, None),
        ("GET", "/v1/tasks/2", {}, None),
        ("GET", "/v2/tasks/1", {"If-None-Match": '"v2"'}, None),
        ("GET", "/v9/tasks/1", {}, None),
        ("GET", "/legacy/tasks", {}, None),
    ]

    def run(send: Send) -> list[tuple[int, dict[str, str], bytes]]:
        seen = []
        for n, (method, path, headers, body) in enumerate(script):
            reply = send(method, path, {**headers, "X-Request-ID": f"step-{n}"}, body)
            kept = {k: v for k, v in reply.headers.items() if k not in VOLATILE}
            seen.append((reply.status, kept, CREATED.sub(b'"created_at":""', reply.body)))
        return seen

    tested = run(_client(_app()))
    with waitress_server(_app()) as port:
        served = run(_socket(port))
    for step, (a, b) in enumerate(zip(tested, served, strict=True)):
        assert a == b, script[step]  # (but the tasks' created_at, which differs between the two apps)


@pytest.mark.socket
def test_concurrent_writers_with_the_same_version_one_wins() -> None:
    writers = 16
    with waitress_server(_app()) as port:
        send = _socket(port)
        send("POST", "/tasks", body={"title": "a"})
        barrier = threading.Barrier(writers)
        statuses: list[int] = []
        failures: list[str] = []

        def write(n: int) -> None:
            try:
                barrier.wait(timeout=10)
                statuses.append(send("PUT", "/tasks/1", {"If-Match": '"v1"'}, {"title": f"by {n}"}).status)
            except Exception as exc:  # reported below: a thread's exception would otherwise vanish
                failures.append(repr(exc))

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = send("GET", "/tasks/1")
    assert failures == []
    assert sorted(statuses) == [200] + [412] * (writers - 1)
    assert final.headers["etag"] == '"v2"'
