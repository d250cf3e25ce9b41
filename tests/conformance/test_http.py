"""Conditional requests, optimistic locking, deprecation and versions on the wire, alike on seven targets.

The examples install the conditional layer (``examples/_http.py``: every 200 GET/HEAD tagged, 304
when the client's copy is current) and path versions (``/v1`` deprecated, ``/v2`` current). A task's
ETag is ``"v<version>"``; ``PUT /tasks/{id}`` needs ``If-Match`` (428 without it) and answers 412
with the current tag when another client changed the task first. ``GET /legacy/tasks`` is past its
sunset: 410. What one framework answers, byte for byte, the others answer too.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

import pytest

from examples import _http
from tests.conformance.targets import ALLOWED_ORIGIN, Target, comparable
from tests.conformance.test_ratelimit import client_address
from tests.support.net import Reply

V1_HEADERS = {
    "deprecation": "@1780272000",
    "sunset": "Tue, 01 Jun 2027 00:00:00 GMT",
    "link": f'<{_http.GUIDE}>; rel="deprecation"; type="text/html"',
}
TOO_LARGE = b'{"title": "' + b"x" * (1 << 20) + b'"}'  # over the examples' 1 MiB
STRONG = re.compile(r'"[A-Za-z0-9_-]{22}"')  # ETag.of: 128 bits of SHA-256, base64url


def _error(reply: Reply) -> dict[str, Any]:
    assert reply.headers["content-type"] == "application/json", reply
    error: dict[str, Any] = json.loads(reply.body)["error"]
    assert error.pop("request_id") == reply.headers["x-request-id"]
    return error


def new_task(target: Target) -> dict[str, Any]:
    reply = target.request("POST", "/tasks", body=json.dumps({"title": f"http {uuid.uuid4().hex}"}).encode())
    assert reply.status == 201, reply
    assert reply.headers["etag"] == '"v1"'
    task: dict[str, Any] = json.loads(reply.body)
    return task


def put(target: Target, task_id: int, title: str, headers: dict[str, str] | None = None) -> Reply:
    return target.request("PUT", f"/tasks/{task_id}", headers=headers, body=json.dumps({"title": title}).encode())


def test_a_task_carries_its_version_as_etag_and_answers_304_while_current(target: Target) -> None:
    task = new_task(target)
    assert task["version"] == 1
    reply = target.request("GET", f"/tasks/{task['id']}")
    assert (reply.status, reply.headers["etag"]) == (200, '"v1"')
    for asked in ('"v1"', 'W/"v1"', '"v0", "v1"', "*"):
        fresh = target.request("GET", f"/tasks/{task['id']}", headers={"If-None-Match": asked})
        assert fresh.status == 304, (asked, fresh)
        assert fresh.body == b""
        assert fresh.headers["etag"] == '"v1"'
        assert "content-type" not in fresh.headers
        assert fresh.headers["x-request-id"]
    stale = target.request("GET", f"/tasks/{task['id']}", headers={"If-None-Match": '"v0"'})
    assert (stale.status, json.loads(stale.body)) == (200, task)
    ignored = target.request("GET", f"/tasks/{task['id']}", headers={"If-None-Match": "v1"})  # unquoted: no tag
    assert ignored.status == 200


def test_a_change_needs_the_current_tag_and_moves_it(target: Target) -> None:
    task = new_task(target)
    path = f"/tasks/{task['id']}"
    required = put(target, task["id"], "renamed")
    assert required.status == 428
    assert _error(required) == {
        "code": "PRECONDITION_REQUIRED",
        "message": "This request must be conditional: send If-Match with the ETag you read.",
    }
    changed = put(target, task["id"], f"{task['title']} (renamed)", {"If-Match": '"v1"'})
    assert changed.status == 200, changed
    assert changed.headers["etag"] == '"v2"'
    body = json.loads(changed.body)
    assert (body["title"], body["version"], body["created_at"]) == (f"{task['title']} (renamed)", 2, task["created_at"])
    stale = put(target, task["id"], "lost update", {"If-Match": '"v1"'})
    assert stale.status == 412
    assert stale.headers["etag"] == '"v2"'
    assert _error(stale) == {
        "code": "PRECONDITION_FAILED",
        "message": "The resource has changed since it was read; read it again and retry.",
        "details": {"etag": '"v2"'},
    }
    assert json.loads(target.request("GET", path).body)["title"] == f"{task['title']} (renamed)"
    assert target.request("GET", path, headers={"If-None-Match": '"v1"'}).status == 200
    assert target.request("GET", path, headers={"If-None-Match": '"v2"'}).status == 304
    anything = put(target, task["id"], f"{task['title']} (any)", {"If-Match": "*"})
    assert (anything.status, anything.headers["etag"]) == (200, '"v3"')
    weak = put(target, task["id"], "weak", {"If-Match": 'W/"v3"'})  # If-Match compares strongly
    assert weak.status == 412


@pytest.mark.parametrize(
    "sent",
    [{"If-None-Match": '"v0"'}, {"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"}],
    ids=["if-none-match-a-tag", "if-unmodified-since-without-a-date-to-compare"],
)
def test_a_precondition_that_cannot_refuse_a_lost_update_is_not_one(target: Target, sent: dict[str, str]) -> None:
    task = new_task(target)
    reply = put(target, task["id"], "blind overwrite", sent)
    assert reply.status == 428
    assert _error(reply)["code"] == "PRECONDITION_REQUIRED"
    assert json.loads(target.request("GET", f"/tasks/{task['id']}").body)["version"] == 1


def test_a_delete_honours_if_match(target: Target) -> None:
    task = new_task(target)
    stale = target.request("DELETE", f"/tasks/{task['id']}", headers={"If-Match": '"v0"'})
    assert (stale.status, stale.headers["etag"]) == (412, '"v1"')
    assert target.request("GET", f"/tasks/{task['id']}").status == 200  # still there
    gone = target.request("DELETE", f"/tasks/{task['id']}", headers={"If-Match": '"v1"'})
    assert (gone.status, gone.body) == (204, b"")
    assert target.request("DELETE", f"/tasks/{task['id']}").status == 204  # nothing left: nothing to do


def test_a_change_to_no_task_is_404_and_a_malformed_tag_400(target: Target) -> None:
    missing = put(target, 987654321, "nobody", {"If-Match": '"v1"'})
    assert missing.status == 404
    assert _error(missing)["code"] == "NOT_FOUND"
    malformed = put(target, 987654321, "nobody", {"If-Match": "v1"})
    assert malformed.status == 400
    assert _error(malformed)["code"] == "MALFORMED_PRECONDITION"


def test_a_change_is_validated_like_a_creation(target: Target) -> None:
    task = new_task(target)
    invalid = target.request(
        "PUT", f"/tasks/{task['id']}", headers={"If-Match": '"v1"'}, body=json.dumps({"title": ""}).encode()
    )
    assert invalid.status == 422
    assert _error(invalid)["code"] == "VALIDATION_ERROR"
    broken = target.request("PUT", f"/tasks/{task['id']}", headers={"If-Match": '"v1"'}, body=b'{"title": ')
    assert broken.status == 400
    assert json.loads(target.request("GET", f"/tasks/{task['id']}").body)["version"] == 1  # nothing changed


def _race(target: Target, writers: int) -> list[int]:
    """``writers`` clients sending the same ``If-Match: "v1"`` to one new task at once: their statuses."""
    task = new_task(target)
    statuses: list[int] = []
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        start.wait()
        statuses.append(put(target, task["id"], f"{task['title']} by {n}", {"If-Match": '"v1"'}).status)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert json.loads(target.request("GET", f"/tasks/{task['id']}").body)["version"] == 2
    return sorted(statuses)


def test_concurrent_writers_of_one_version_one_wins(all_targets: dict[str, Target]) -> None:
    served = [target for target in all_targets.values() if target.port is not None]  # the test clients serialize
    assert len(served) == 4
    for target in served:
        assert _race(target, 8) == [200] + [412] * 7, target.name


def test_every_200_get_is_tagged_from_its_bytes_and_head_agrees(target: Target) -> None:
    listed = target.request("GET", "/tasks?limit=1")
    assert listed.status == 200
    tag = listed.headers["etag"]
    assert STRONG.fullmatch(tag), tag
    head = target.request("HEAD", "/tasks?limit=1")
    assert (head.status, head.headers["etag"], head.body) == (200, tag, b"")
    again = target.request("GET", "/tasks?limit=1", headers={"If-None-Match": tag})
    assert (again.status, again.body) == (304, b"")
    assert again.headers["etag"] == tag
    assert target.request("HEAD", "/tasks?limit=1", headers={"If-None-Match": tag}).status == 304
    assert "etag" not in target.request("GET", "/tasks/987654321").headers  # a 404 carries no tag


def test_304s_are_counted_by_the_rate_limit(target: Target) -> None:
    headers = {"X-Forwarded-For": client_address()}
    first = target.request("GET", "/limited", headers=headers)
    assert first.status == 200
    headers["If-None-Match"] = first.headers["etag"]
    for remaining in (3, 2, 1, 0):
        fresh = target.request("GET", "/limited", headers=headers)
        assert fresh.status == 304, fresh
        assert re.fullmatch(rf'"5-per-60s";r={remaining};t=\d+', fresh.headers["ratelimit"]), fresh.headers
    assert target.request("GET", "/limited", headers=headers).status == 429


def test_an_idempotent_replay_keeps_its_etag(target: Target) -> None:
    key = uuid.uuid4().hex
    payload = json.dumps({"title": f"replayed {key}"}).encode()
    first = target.request("POST", "/tasks", headers={"Idempotency-Key": key}, body=payload)
    replay = target.request("POST", "/tasks", headers={"Idempotency-Key": key}, body=payload)
    assert (first.status, replay.status) == (201, 201)
    assert first.headers["etag"] == replay.headers["etag"] == '"v1"'
    assert replay.headers["idempotent-replayed"] == "true"


def test_a_page_reads_the_tag_of_a_304_across_origins(target: Target) -> None:
    task = new_task(target)
    reply = target.request("GET", f"/tasks/{task['id']}", headers={"Origin": ALLOWED_ORIGIN, "If-None-Match": '"v1"'})
    assert reply.status == 304
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    exposed = [name.strip() for name in reply.headers["access-control-expose-headers"].split(",")]
    assert {"ETag", "Deprecation", "Sunset", "Link"} <= set(exposed)


def test_versions_serve_their_representations_and_v1_says_it_is_deprecated(target: Target) -> None:
    task = new_task(target)
    old = target.request("GET", f"/v1/tasks/{task['id']}")
    assert old.status == 200
    assert json.loads(old.body) == {"id": task["id"], "title": task["title"], "priority": task["priority"]}
    assert {name: old.headers[name] for name in V1_HEADERS} == V1_HEADERS
    new = target.request("GET", f"/v2/tasks/{task['id']}")
    assert (new.status, json.loads(new.body), new.headers["etag"]) == (200, task, '"v1"')
    assert not {"deprecation", "sunset", "link"} & set(new.headers)
    assert "deprecation" not in target.request("GET", f"/tasks/{task['id']}").headers
    missing = target.request("GET", "/v1/tasks/987654321")
    assert missing.status == 404
    assert {name: missing.headers[name] for name in V1_HEADERS} == V1_HEADERS


def test_an_unknown_version_is_a_404_listing_the_served_ones(target: Target) -> None:
    reply = target.request("GET", "/v9/tasks/1")
    assert reply.status == 404
    assert _error(reply) == {
        "code": "UNSUPPORTED_VERSION",
        "message": "API version '9' is not served; supported versions: 1, 2.",
        "details": {"requested": "9", "supported": ["1", "2"]},
    }


def test_a_route_past_its_sunset_is_gone(target: Target) -> None:
    reply = target.request("GET", "/legacy/tasks")
    assert reply.status == 410
    assert _error(reply) == {"code": "GONE", "message": "This endpoint was retired on Thu, 01 Jan 2026 00:00:00 GMT."}
    assert reply.headers["deprecation"] == "@1735689600"
    assert reply.headers["sunset"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    assert reply.headers["link"] == f'<{_http.GUIDE}>; rel="deprecation"; type="text/html"'


# Compared byte for byte across the seven targets; {id} is a task each target creates for the case.
CASES: dict[str, tuple[str, str, dict[str, str], bytes | None]] = {
    "304": ("GET", "/tasks/{id}", {"If-None-Match": '"v1"'}, None),
    "304-weak-list": ("GET", "/tasks/{id}", {"If-None-Match": 'W/"v0", W/"v1"'}, None),
    "304-head": ("HEAD", "/tasks/{id}", {"If-None-Match": '"v1"'}, None),
    "304-cors": ("GET", "/tasks/{id}", {"If-None-Match": '"v1"', "Origin": ALLOWED_ORIGIN}, None),
    "412": ("PUT", "/tasks/{id}", {"If-Match": '"v7"'}, b'{"title": "stale"}'),
    "412-get": ("GET", "/tasks/{id}", {"If-Match": '"v7"'}, None),
    "428": ("PUT", "/tasks/{id}", {}, b'{"title": "unconditional"}'),
    "412-delete": ("DELETE", "/tasks/{id}", {"If-Match": '"v7"'}, None),
    "400-malformed": ("PUT", "/tasks/{id}", {"If-Match": "v1"}, b'{"title": "malformed"}'),
    "410": ("GET", "/legacy/tasks", {}, None),
    "404-version": ("GET", "/v9/tasks/{id}", {}, None),
    "404-v1": ("GET", "/v1/tasks/987654321", {}, None),
    "405-v1": ("DELETE", "/v1/tasks/{id}", {}, None),
    "404-version-too-large": ("POST", "/v9/tasks", {}, TOO_LARGE),  # the version is read before the body
    "413-v1": ("POST", "/v1/tasks/{id}", {}, TOO_LARGE),  # with version 1's headers
}


@pytest.mark.parametrize("case", list(CASES))
def test_identical_across_frameworks(all_targets: dict[str, Target], case: str) -> None:
    method, path, headers, body = CASES[case]
    replies = {}
    for name, target in all_targets.items():
        task = new_task(target)
        sent = {**headers, "X-Request-ID": f"same-{case}"}
        replies[name] = comparable(target.request(method, path.format(id=task["id"]), headers=sent, body=body))
    reference = replies["fastapi-testclient"]
    assert reference[0] == int(case[:3])
    for name, reply in replies.items():
        assert reply == reference, f"{name} differs from fastapi-testclient"


def test_the_examples_write_the_same_bytes_so_their_tags_agree(all_targets: dict[str, Target]) -> None:
    seen = set()
    for target in all_targets.values():
        reply = target.request("GET", "/limited", headers={"X-Forwarded-For": client_address()})
        assert reply.status == 200
        seen.add((reply.body, reply.headers["etag"]))
    assert seen == {(b'{"ok":true}', '"QGLtr3UPuAdOfoPgyQKMlA"')}
