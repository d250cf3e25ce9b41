"""The error envelope on the wire: the same status, headers and body on every framework.

Each test runs against all seven targets (three test clients, four real servers);
``test_identical_across_frameworks`` then compares the targets with each other.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conformance.targets import BUG_MESSAGE, Target, comparable
from tests.support.net import Reply
from tests.support.net import request as socket_request
from tests.support.servers import gunicorn
from tests.support.versions import release

FASTAPI = release("fastapi")

FRESH_ID = re.compile(r"[0-9a-f]{32}")


def body_of(reply: Reply) -> Any:
    assert reply.headers["content-type"] == "application/json", reply.headers
    return json.loads(reply.body)


def error_of(reply: Reply) -> dict[str, Any]:
    body = body_of(reply)
    assert list(body) == ["error"]
    error: dict[str, Any] = body["error"]
    assert error["request_id"] == reply.headers["x-request-id"]
    return error


def new_title() -> str:
    return f"task {uuid.uuid4().hex}"


def create(target: Target, payload: dict[str, Any]) -> Reply:
    return target.request("POST", "/tasks", body=json.dumps(payload).encode())


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/startupz", "/healthz"])
def test_healthz(target: Target, path: str) -> None:
    reply = target.request("GET", path)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/health+json"
    assert reply.headers["cache-control"] == "no-store"
    assert json.loads(reply.body) == {"status": "pass"}  # details are off on a public listener
    assert FRESH_ID.fullmatch(reply.headers["x-request-id"])


def test_task_lifecycle(target: Target) -> None:
    title = new_title()
    created = create(target, {"title": title})
    assert created.status == 201
    task = body_of(created)
    assert task["title"] == title
    assert task["priority"] == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", task["created_at"])

    fetched = target.request("GET", f"/tasks/{task['id']}")
    assert fetched.status == 200
    assert body_of(fetched) == task

    for _ in range(2):  # deleting is idempotent: 204 also when the task is gone
        deleted = target.request("DELETE", f"/tasks/{task['id']}")
        assert deleted.status == 204
        assert deleted.body == b""
    gone = target.request("GET", f"/tasks/{task['id']}")
    assert gone.status == 404
    assert error_of(gone)["message"] == "No task with this id."


def test_unknown_route_is_json_404(target: Target) -> None:
    reply = target.request("GET", "/no/such/route")
    assert reply.status == 404
    assert error_of(reply) == {
        "code": "NOT_FOUND",
        "message": "The requested resource was not found.",
        "request_id": reply.headers["x-request-id"],
    }


@pytest.mark.parametrize("path", ["/tasks/", "/healthz/", "/tasks/1/"])
def test_trailing_slash_is_an_unknown_route(target: Target, path: str) -> None:
    reply = target.request("GET", path)
    assert reply.status == 404
    assert error_of(reply)["code"] == "NOT_FOUND"


def test_head_answers_like_get_without_a_body(target: Target) -> None:
    task = body_of(create(target, {"title": new_title()}))
    reply = target.request("HEAD", f"/tasks/{task['id']}", headers={"X-Request-ID": "head-1"})
    assert reply.status == 200
    assert reply.headers["x-request-id"] == "head-1"
    if target.port is not None:  # servers drop a HEAD body; some test clients keep it
        assert reply.body == b""
    missing = target.request("HEAD", "/tasks/999999")
    assert missing.status == 404


@pytest.mark.parametrize("path", ["/healthz", "/tasks", "/limited"])
def test_every_get_route_answers_head(target: Target, path: str) -> None:
    # FastAPI once answered HEAD /healthz and HEAD /limited with 405 and Allow: GET.
    n = uuid.uuid4().int
    headers = {"X-Forwarded-For": f"2001:db8:{n % 65536:x}:{(n >> 16) % 65536:x}::1"}  # a quota of its own
    reply = target.request("HEAD", path, headers=headers)
    assert reply.status == 200, (target.name, reply)
    if target.port is not None:
        assert reply.body == b""


def test_options_is_not_served(target: Target) -> None:
    reply = target.request("OPTIONS", "/tasks/1")
    assert reply.status == 405
    assert reply.headers["allow"] == "DELETE, GET, HEAD, PUT"


def test_non_numeric_id_is_404_not_422(target: Target) -> None:
    reply = target.request("GET", "/tasks/abc")
    assert reply.status == 404
    assert error_of(reply)["code"] == "NOT_FOUND"


HUGE_ID = "1" * 4301  # one digit more than int() converts by default (sys.get_int_max_str_digits())


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "PUT", "PATCH"])
def test_an_id_too_long_to_convert_is_404_without_a_traceback(
    target: Target, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    # FastAPI answered 500 (Starlette's convertor let int()'s ValueError escape) with a traceback
    # in the log; Flask answered DELETE, PUT and PATCH with 405 and the Allow of GET.
    with caplog.at_level(logging.INFO):
        reply = target.request(method, f"/tasks/{HUGE_ID}", headers={"X-Request-ID": f"huge-{method}"})
    assert reply.status == 404
    assert "allow" not in reply.headers
    if method != "HEAD":
        assert error_of(reply) == {
            "code": "NOT_FOUND",
            "message": "The requested resource was not found.",
            "request_id": f"huge-{method}",
        }
    assert [r.getMessage()[:80] for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@pytest.mark.socket
@pytest.mark.parametrize("app", ["examples.flask_app:app", "examples.django_app.wsgi:application"])
def test_an_id_too_long_to_convert_under_gunicorn(app: str) -> None:
    # gunicorn answers a request line over 4,094 bytes with a 400 of its own; raised here so the app sees it.
    with tempfile.TemporaryFile() as output:
        with gunicorn(app, options=["--limit-request-line", "8190"], output=output) as port:
            for method in ("GET", "HEAD", "DELETE", "PUT", "PATCH"):
                reply = socket_request(port, method, f"/tasks/{HUGE_ID}", headers={"X-Request-ID": "huge-gunicorn"})
                assert reply.status == 404, (method, reply)
                if method != "HEAD":
                    assert error_of(reply)["code"] == "NOT_FOUND", method
        output.seek(0)
        logged = output.read().decode(errors="replace")
    assert f"DELETE /tasks/{HUGE_ID} 404" in logged  # (the server's output was read)
    assert "Traceback" not in logged


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/tasks/1", "DELETE, GET, HEAD, PUT"),
        ("PUT", "/tasks", "GET, HEAD, POST"),
        ("PUT", "/healthz", "GET, HEAD"),
        ("POST", "/limited", "GET, HEAD"),
    ],
)
def test_wrong_method_is_405_with_allow(target: Target, method: str, path: str, allow: str) -> None:
    reply = target.request(method, path)
    assert reply.status == 405
    assert reply.headers["allow"] == allow
    assert error_of(reply)["code"] == "METHOD_NOT_ALLOWED"


def test_validation_error_lists_fields_without_echoing_input(target: Target) -> None:
    reply = create(target, {"title": "", "priority": 987654})
    assert reply.status == 422
    error = error_of(reply)
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == [
        {
            "field": "title",
            "pointer": "/title",
            "code": "string_too_short",
            "message": "String should have at least 1 character",
        },
        {
            "field": "priority",
            "pointer": "/priority",
            "code": "less_than_equal",
            "message": "Input should be less than or equal to 5",
        },
    ]
    assert b"987654" not in reply.body


def test_missing_and_unexpected_fields(target: Target) -> None:
    reply = create(target, {"priority": 2, "password": "hunter2-secret"})
    assert reply.status == 422
    details = error_of(reply)["details"]
    assert [(d["field"], d["code"]) for d in details] == [("title", "missing"), ("password", "extra_forbidden")]
    assert b"hunter2-secret" not in reply.body


def test_empty_body_is_a_missing_body(target: Target) -> None:
    reply = target.request("POST", "/tasks", body=b"")
    assert reply.status == 422
    assert error_of(reply)["details"] == [{"field": "", "pointer": "", "code": "missing", "message": "Field required"}]


@pytest.mark.parametrize(
    "payload",
    [b'{"title": ', b"{'title': 'x'}", b"[1, 2,]", b"\xff\xfe{", b"[" * 100_000, b"NaN-ish", b"  \n "],
    ids=["truncated", "single-quotes", "trailing-comma", "bad-utf8", "nested-100k", "garbage", "whitespace"],
)
def test_malformed_json_is_400(target: Target, payload: bytes) -> None:
    reply = target.request("POST", "/tasks", body=payload)
    assert reply.status == 400
    assert error_of(reply) == {
        "code": "MALFORMED_JSON",
        "message": "The request body is not valid JSON.",
        "request_id": reply.headers["x-request-id"],
    }


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_body_not_declared_as_json_is_415(target: Target, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    reply = target.request("POST", "/tasks", body=b'{"title": "typed wrong"}', headers=headers, json_type=False)
    if content_type is None and target.framework == "fastapi" and FASTAPI < (0, 132):
        # FastAPI reads a body with no Content-Type as JSON before 0.132 (docs/errors.md, docs/releases.md).
        assert (reply.status, json.loads(reply.body)["title"]) == (201, "typed wrong")
        return
    assert reply.status == 415
    assert error_of(reply) == {
        "code": "UNSUPPORTED_MEDIA_TYPE",
        "message": "The request body must be JSON (Content-Type: application/json).",
        "request_id": reply.headers["x-request-id"],
    }


@pytest.mark.parametrize("payload", [b"null", b"[]", b"42"])
def test_non_object_body_is_422_at_the_root(target: Target, payload: bytes) -> None:
    reply = target.request("POST", "/tasks", body=payload)
    assert reply.status == 422
    expected = "model_attributes_type"
    if payload == b"null" and target.framework == "fastapi" and FASTAPI < (0, 151):
        expected = "missing"  # FastAPI takes a JSON null for no body before 0.151 (docs/releases.md)
    assert [(d["field"], d["code"]) for d in error_of(reply)["details"]] == [("", expected)]


def test_duplicate_title_is_409_via_the_registry(target: Target) -> None:
    title = new_title()
    assert create(target, {"title": title}).status == 201
    reply = create(target, {"title": title, "priority": 1})
    assert reply.status == 409
    error = error_of(reply)
    assert error["code"] == "CONFLICT"
    assert error["details"] == {"field": "title"}


def test_bug_is_a_500_that_leaks_nothing(target: Target, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    reply = target.request("GET", "/boom", headers={"X-Request-ID": "bug-hunt-1"})
    assert reply.status == 500
    assert error_of(reply) == {
        "code": "INTERNAL_ERROR",
        "message": "An unexpected error occurred.",
        "request_id": "bug-hunt-1",
    }
    everything = reply.body + repr(reply.headers).encode()
    for leak in (BUG_MESSAGE, "RuntimeError", "Traceback", "boom"):
        assert leak.encode() not in everything
    # ...but the log has it all, with the request id.
    records = [r for r in caplog.records if r.name == "backendkit.errors"]
    assert len(records) == 1
    record = records[0]
    assert record.request_id == "bug-hunt-1"  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert str(record.exc_info[1]) == BUG_MESSAGE


@pytest.mark.parametrize("incoming", ["abc-123", "A.b_C-9", "x" * 128])
def test_valid_request_id_is_echoed_and_visible_to_the_app(target: Target, incoming: str) -> None:
    reply = target.request("GET", "/whoami", headers={"X-Request-ID": incoming})
    assert reply.status == 200
    assert reply.headers["x-request-id"] == incoming
    assert body_of(reply) == {"request_id": incoming}


@pytest.mark.parametrize(
    "incoming",
    ["", "has space", "x" * 129, "semi;colon", "slash/", 'quote"', "tab\tid"],
    ids=["empty", "space", "too-long", "semicolon", "slash", "quote", "tab"],
)
def test_invalid_request_id_is_replaced(target: Target, incoming: str) -> None:
    headers = {"X-Request-ID": incoming}
    first = target.request("GET", "/whoami", headers=headers)
    second = target.request("GET", "/whoami", headers=headers)
    for reply in (first, second):
        assert FRESH_ID.fullmatch(reply.headers["x-request-id"])
        assert body_of(reply) == {"request_id": reply.headers["x-request-id"]}
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.socket
@pytest.mark.parametrize(
    ("raw", "status"), [(b"caf\xe9", 200), (b"\xff\xfe", 200), (b"id\x00nul", 400)], ids=["latin1", "high-bytes", "nul"]
)
def test_non_ascii_request_id_over_the_wire(all_targets: dict[str, Target], raw: bytes, status: int) -> None:
    # Test clients refuse to send such bytes; real clients can. Non-ASCII ids are
    # replaced; a NUL byte is refused by the server before the app sees it.
    for name, target in all_targets.items():
        if target.port is None:
            continue
        reply = socket_request(target.port, "GET", "/whoami", headers=[("X-Request-ID", raw)])
        assert reply.status == status, name
        if status == 200:
            assert FRESH_ID.fullmatch(reply.headers["x-request-id"]), name
            assert body_of(reply) == {"request_id": reply.headers["x-request-id"]}, name


@pytest.mark.socket
def test_two_request_ids_get_a_fresh_one_everywhere(all_targets: dict[str, Target]) -> None:
    for name, target in all_targets.items():
        if target.port is None:
            continue
        reply = socket_request(
            target.port, "GET", "/whoami", headers=[("X-Request-ID", "one"), ("X-Request-ID", "two")]
        )
        assert reply.status == 200, name
        assert FRESH_ID.fullmatch(reply.headers["x-request-id"]), name
        assert body_of(reply) == {"request_id": reply.headers["x-request-id"]}, name


def _whoami(target: Target, request_id: str) -> Reply:
    return target.request("GET", "/whoami", headers={"X-Request-ID": request_id})


@pytest.mark.socket
def test_concurrent_requests_keep_their_own_ids(all_targets: dict[str, Target]) -> None:
    for name, target in all_targets.items():
        if target.port is None:
            continue
        ids = [f"{name}-{n}" for n in range(24)]
        whoami = functools.partial(_whoami, target)
        with ThreadPoolExecutor(max_workers=12) as pool:
            replies = list(pool.map(whoami, ids))
        for rid, reply in zip(ids, replies, strict=True):
            assert (reply.headers["x-request-id"], body_of(reply)) == (rid, {"request_id": rid}), name


def test_request_id_is_on_error_responses_too(target: Target) -> None:
    reply = target.request("PATCH", "/tasks/1", headers={"X-Request-ID": "on-a-405"})
    assert reply.headers["x-request-id"] == "on-a-405"
    assert error_of(reply)["request_id"] == "on-a-405"


ERROR_CASES: dict[str, tuple[str, str, bytes | None]] = {
    "404": ("GET", "/no/such/route", None),
    "404-resource": ("GET", "/tasks/999999", None),
    "404-id-too-long": ("DELETE", f"/tasks/{HUGE_ID}", None),
    "405": ("PATCH", "/tasks/1", None),
    "422": ("POST", "/tasks", b'{"title": "", "priority": 0}'),
    "422-empty": ("POST", "/tasks", b""),
    "400": ("POST", "/tasks", b'{"title": '),
    "415": ("POST", "/tasks", b"title=x"),
    "500": ("GET", "/boom", None),
    "413": ("POST", "/tasks", b'{"title": "' + b"x" * (1 << 20) + b'"}'),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_identical_across_frameworks(all_targets: dict[str, Target], case: str) -> None:
    method, path, body = ERROR_CASES[case]
    headers = {"X-Request-ID": f"same-{case}"}
    if case == "415":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    replies = {name: comparable(t.request(method, path, headers=headers, body=body)) for name, t in all_targets.items()}
    reference = replies["fastapi-testclient"]
    for name, reply in replies.items():
        assert reply == reference, f"{name} differs from fastapi-testclient"


TOO_LARGE = b'{"title": "' + b"x" * (1 << 20) + b'"}'  # over the examples' 1 MiB


def test_a_body_over_the_limit_is_413(target: Target) -> None:
    # Django once answered a body over DATA_UPLOAD_MAX_MEMORY_SIZE with 400 BAD_REQUEST.
    reply = target.request("POST", "/tasks", body=TOO_LARGE)
    assert reply.status == 413
    assert error_of(reply) == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": "The request body is too large.",
        "request_id": reply.headers["x-request-id"],
    }
    listed = body_of(target.request("GET", "/tasks?limit=100"))["data"]
    assert not any(task["title"].startswith("xxxx") for task in listed)
    assert target.request("POST", "/tasks", body=TOO_LARGE[: 1 << 19] + b'"}').status == 422  # under it: read


def _chunked(port: int, body: bytes) -> Reply:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
        conn.request("POST", "/tasks", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@pytest.mark.socket
def test_a_chunked_body_over_the_limit_is_413(all_targets: dict[str, Target]) -> None:
    for name, target in all_targets.items():
        # Django's ASGI handler reads a body without Content-Length whole before any
        # middleware runs, and tells no one its size (docs/errors.md, "Request bodies").
        if target.port is None or name == "django-uvicorn-asgi":
            continue
        reply = _chunked(target.port, TOO_LARGE)
        assert reply.status == 413, (name, reply.status, reply.body[:200])
        assert json.loads(reply.body)["error"]["code"] == "PAYLOAD_TOO_LARGE", name


def test_djangos_own_body_limit_is_a_413_too(all_targets: dict[str, Target]) -> None:
    # A body under MAX_BODY_SIZE but over Django's DATA_UPLOAD_MAX_MEMORY_SIZE: Django raises
    # RequestDataTooBig when the view reads it, which was answered 400 BAD_REQUEST.
    from django.test import override_settings

    body = json.dumps({"title": "y" * 100}).encode()
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=64):
        for name, target in all_targets.items():
            if target.framework != "django":
                continue
            reply = target.request("POST", "/tasks", body=body)
            assert reply.status == 413, (name, reply.body[:200])
            assert error_of(reply)["code"] == "PAYLOAD_TOO_LARGE", name
