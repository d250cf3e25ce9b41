"""``GET /tasks`` on the wire: cursor and page modes, and the 400s, alike on every framework and server.

Each target lists only the tasks it created (``q=<tag>``), so the stores of the
other tests do not matter. Ids, timestamps and the cursors that encode them differ
between targets and are normalised; everything else is compared as sent.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from tests.conformance.targets import Target, comparable

PRIORITIES = [3, 5, 3, 1, 5, 3, 2]  # ties on purpose: the id tiebreaker decides


def seed(target: Target) -> tuple[str, dict[int, int]]:
    """Create the tasks; return the tag and each task id's creation index."""
    tag = f"pg{uuid.uuid4().hex[:10]}"
    index: dict[int, int] = {}
    for i, priority in enumerate(PRIORITIES):
        body = json.dumps({"title": f"{tag} task {i}", "priority": priority}).encode()
        reply = target.request("POST", "/tasks", body=body)
        assert reply.status == 201, reply
        index[json.loads(reply.body)["id"]] = i
    return tag, index


def normalized(reply: Any, tag: str, index: dict[int, int]) -> tuple[int, dict[str, str], Any]:
    status, headers, body = comparable(reply)
    headers = {k: v for k, v in headers.items() if k not in ("x-request-id", "content-length")}
    if status == 200:  # a tag of the page's bytes, whose ids and times differ by target (test_http.py compares tags)
        assert re.fullmatch(r'"[A-Za-z0-9_-]{22}"', headers["etag"]), headers
        headers["etag"] = "E"
    if "link" in headers:
        headers["link"] = re.sub(r"cursor=[A-Za-z0-9_.-]+", "cursor=C", headers["link"].replace(tag, "TAG"))
    parsed = json.loads(body)
    for task in parsed.get("data", []):
        task["id"] = index[task["id"]]
        task["created_at"] = "T"
        task["title"] = task["title"].replace(tag, "TAG")
    meta = parsed.get("pagination", {})
    for name in ("next_cursor", "prev_cursor"):
        if meta.get(name) is not None:
            assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", meta[name])
            meta[name] = "C"
    if "error" in parsed:
        parsed["error"]["request_id"] = "N"
    return status, headers, parsed


def cursor_walk(target: Target) -> list[Any]:
    tag, index = seed(target)
    base = f"/tasks?q={tag}&limit=3"
    seen, replies = [], []
    reply = target.request("GET", base)
    while True:
        assert reply.status == 200, reply
        replies.append(normalized(reply, tag, index))
        body = json.loads(reply.body)
        seen.extend(index[t["id"]] for t in body["data"])
        if body["pagination"]["next_cursor"] is None:
            break
        reply = target.request("GET", f"{base}&cursor={body['pagination']['next_cursor']}")
    prev = body["pagination"]["prev_cursor"]
    back = target.request("GET", f"{base}&cursor={prev}")
    replies.append(normalized(back, tag, index))
    assert seen == [1, 4, 0, 2, 5, 6, 3]  # -priority, then id
    return replies


def page_walk(target: Target) -> list[Any]:
    tag, index = seed(target)
    return [
        normalized(target.request("GET", f"/tasks?q={tag}&page={n}&per_page=3&sort=title"), tag, index)
        for n in (1, 2, 3, 4)
    ]


def test_cursor_mode_is_identical_everywhere(all_targets: dict[str, Target]) -> None:
    walks = {name: cursor_walk(target) for name, target in all_targets.items()}
    reference = walks["fastapi-testclient"]
    first = reference[0]
    assert first[1]["link"] == '</tasks?q=TAG&limit=3&cursor=C>; rel="next"'
    assert first[1]["access-control-expose-headers"] == "Link"
    assert first[2]["pagination"] == {
        "mode": "cursor",
        "limit": 3,
        "clamped": False,
        "sort": "-priority,id",
        "has_more": True,
        "next_cursor": "C",
        "prev_cursor": None,
        "total": None,
        "total_kind": None,
    }
    for name, walk in walks.items():
        assert walk == reference, f"{name} differs from fastapi-testclient"


def test_page_mode_is_identical_everywhere(all_targets: dict[str, Target]) -> None:
    walks = {name: page_walk(target) for name, target in all_targets.items()}
    reference = walks["fastapi-testclient"]
    assert [[t["id"] for t in r[2]["data"]] for r in reference] == [[0, 1, 2], [3, 4, 5], [6], []]
    assert reference[1][2]["pagination"] == {
        "mode": "page",
        "page": 2,
        "per_page": 3,
        "clamped": False,
        "sort": "title,id",
        "has_more": True,
        "next_page": 3,
        "prev_page": 1,
        "total_pages": 3,
        "total": 7,
        "total_kind": "exact",
    }
    assert reference[1][1]["link"] == (
        '</tasks?q=TAG&page=3&per_page=3&sort=title>; rel="next", '
        '</tasks?q=TAG&page=1&per_page=3&sort=title>; rel="prev", '
        '</tasks?q=TAG&page=1&per_page=3&sort=title>; rel="first", '
        '</tasks?q=TAG&page=3&per_page=3&sort=title>; rel="last"'
    )
    for name, walk in walks.items():
        assert walk == reference, f"{name} differs from fastapi-testclient"


BAD = {
    "tampered cursor": "/tasks?cursor=WzEsMCxbNSw0XSwiNFZZX293UjEiLCJUMVBOb1l3ciIsMF0.AAAAAAAAAAAAAAAAAAAAAA",
    "unknown sort field": "/tasks?sort=-password",
    "page size zero": "/tasks?limit=0",
    "page size not a number": "/tasks?per_page=ten",
    "modes mixed": "/tasks?page=2&cursor=abc",
    "bad filter": "/tasks?priority=high",
    "offset not offered": "/tasks?offset=10",
}


def test_bad_parameters_are_the_same_400_everywhere(all_targets: dict[str, Target]) -> None:
    for label, path in BAD.items():
        replies = {name: normalized(t.request("GET", path), "", {}) for name, t in all_targets.items()}
        reference = replies["fastapi-testclient"]
        assert reference[0] == 400, (label, reference)
        assert reference[1]["content-type"] == "application/json"
        for name, reply in replies.items():
            assert reply == reference, f"{label}: {name} differs from fastapi-testclient"
    codes = {
        label: json.loads(all_targets["flask-waitress"].request("GET", path).body)["error"]["code"]
        for label, path in BAD.items()
    }
    assert codes == {
        "tampered cursor": "INVALID_CURSOR",
        "unknown sort field": "INVALID_SORT",
        "page size zero": "INVALID_PAGE_SIZE",
        "page size not a number": "INVALID_PAGE_SIZE",
        "modes mixed": "INVALID_PAGE",
        "bad filter": "INVALID_FILTER",
        "offset not offered": "INVALID_PAGE",
    }


def test_an_oversized_page_is_clamped_and_says_so(target: Target) -> None:
    reply = target.request("GET", "/tasks?limit=5000")
    assert reply.status == 200
    meta = json.loads(reply.body)["pagination"]
    assert (meta["limit"], meta["clamped"]) == (100, True)


def test_a_page_past_the_end_links_back_to_the_last_page_everywhere(all_targets: dict[str, Target]) -> None:
    """Not to page 4294967295, another empty page: to the last page there is (rel="last" too)."""
    replies = {}
    for name, target in all_targets.items():
        tag, index = seed(target)
        replies[name] = normalized(target.request("GET", f"/tasks?q={tag}&page=4294967296&per_page=3"), tag, index)
    reference = replies["fastapi-testclient"]
    assert reference[0] == 200
    meta = reference[2]["pagination"]
    assert (meta["has_more"], meta["next_page"], meta["prev_page"], meta["total_pages"]) == (False, None, 3, 3)
    assert reference[1]["link"] == (
        '</tasks?q=TAG&page=3&per_page=3>; rel="prev", '
        '</tasks?q=TAG&page=1&per_page=3>; rel="first", '
        '</tasks?q=TAG&page=3&per_page=3>; rel="last"'
    )
    for name, reply in replies.items():
        assert reply == reference, f"{name} differs from fastapi-testclient"


OUT_OF_RANGE = {
    "/tasks?page=92233720368547758": (
        "INVALID_PAGE",
        {"parameter": "page", "minimum": 1, "maximum": 999_999_999_999},
    ),
    "/tasks?page=0": ("INVALID_PAGE", {"parameter": "page", "minimum": 1, "maximum": 999_999_999_999}),
    "/tasks?priority=99999999999999999999999": (
        "INVALID_FILTER",
        {"parameter": "priority", "minimum": -(2**63), "maximum": 2**63 - 1},
    ),
}


def test_a_number_out_of_range_is_the_same_400_naming_both_bounds_everywhere(all_targets: dict[str, Target]) -> None:
    for path, (code, details) in OUT_OF_RANGE.items():
        replies = {name: normalized(t.request("GET", path), "", {}) for name, t in all_targets.items()}
        reference = replies["fastapi-testclient"]
        assert reference[0] == 400, (path, reference)
        assert (reference[2]["error"]["code"], reference[2]["error"]["details"]) == (code, details)
        for name, reply in replies.items():
            assert reply == reference, f"{path}: {name} differs from fastapi-testclient"
