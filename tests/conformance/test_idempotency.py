"""Idempotency keys on ``POST /tasks``: the same answers on all seven targets.

A retry with the same key gets the first ``201`` byte for byte (the same task, not a
second one), with ``Idempotent-Replayed: true``; the same key with another body is a
``422``; a malformed key is a ``400``; the draft's quoted key names the same key as the bare one.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from tests.conformance.targets import Target, comparable
from tests.support.net import Reply

ID = re.compile(r'"request_id":"[0-9a-f]{32}"')


def post(target: Target, key: str | None, payload: dict[str, Any]) -> Reply:
    headers = {} if key is None else {"Idempotency-Key": key}
    return target.request("POST", "/tasks", headers=headers, body=json.dumps(payload).encode())


def test_a_retry_gets_the_same_task(target: Target) -> None:
    key, title = uuid.uuid4().hex, f"task {uuid.uuid4().hex}"
    first = post(target, key, {"title": title})
    again = post(target, f'"{key}"', {"title": title})
    assert first.status == 201
    assert "idempotent-replayed" not in first.headers
    assert (again.status, again.body, again.headers["content-type"]) == (201, first.body, "application/json")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    unkeyed = post(target, None, {"title": title})  # without the key, as before: the title is taken
    assert unkeyed.status == 409


def test_the_same_key_with_another_body_is_a_422(target: Target) -> None:
    key = uuid.uuid4().hex
    assert post(target, key, {"title": f"task {uuid.uuid4().hex}"}).status == 201
    other = post(target, key, {"title": f"task {uuid.uuid4().hex}"})
    assert other.status == 422
    assert json.loads(other.body)["error"]["code"] == "IDEMPOTENCY_KEY_MISMATCH"


def test_a_malformed_key_is_a_400_and_creates_nothing(target: Target) -> None:
    title = f"task {uuid.uuid4().hex}"
    refused = post(target, "not a key", {"title": title})
    assert refused.status == 400
    assert json.loads(refused.body)["error"]["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert post(target, None, {"title": title}).status == 201  # the refused request created nothing


def test_a_validation_failure_leaves_the_key_free(target: Target) -> None:
    key = uuid.uuid4().hex
    assert post(target, key, {"title": ""}).status in (400, 422)
    assert post(target, key, {"title": f"task {uuid.uuid4().hex}"}).status == 201


def test_refusals_are_identical_across_frameworks(all_targets: dict[str, Target]) -> None:
    seen: dict[str, Any] = {}
    for name, target in all_targets.items():
        key = "k" + uuid.uuid4().hex[:20]  # one length everywhere: the key is not in the body
        post(target, key, {"title": f"task {uuid.uuid4().hex}"})
        mismatch = post(target, key, {"title": "another"})
        malformed = post(target, "a,b", {"title": "x"})
        seen[name] = [
            (status, headers, ID.sub("", body.decode()))
            for status, headers, body in (comparable(mismatch), comparable(malformed))
            for headers in [{k: v for k, v in headers.items() if k != "x-request-id"}]
        ]
    reference = next(iter(seen.values()))
    for name, replies in seen.items():
        assert replies == reference, name
