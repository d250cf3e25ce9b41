"""The walk every backend must survive: forward to the end, then backward to the start.

``fetch(pairs)`` stands for a backend: it takes query pairs and returns a
:class:`~backendkit.pagination.Page`. The expected order is computed here with a
comparison written independently of the library's sort.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from backendkit.pagination import Page, Pagination, SortSpec

SECRET = "walk-secret-0123456789"
FIELDS = ("a", "b", "c")
PAGES = Pagination(sort=SortSpec([*FIELDS, "id"], default="id"), secrets=[SECRET])

Fetch = Callable[[list[tuple[str, str]]], Page[Any]]


def rows_strategy(max_size: int = 25) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Rows with many duplicate sort values and NULLs: ``a`` int or NULL, ``b`` text or NULL, ``c`` int."""
    row = st.fixed_dictionaries(
        {
            "a": st.none() | st.integers(0, 3),
            "b": st.none() | st.sampled_from(["", "a", "ab", "b", "ba"]),
            "c": st.integers(0, 2),
        }
    )
    return st.lists(row, max_size=max_size).map(lambda rows: [{"id": i + 1, **r} for i, r in enumerate(rows)])


@st.composite
def orderings(draw: st.DrawFn) -> str:
    """A sort parameter over a random subset of the fields, mixed directions, the tiebreaker sometimes inside."""
    names = draw(st.permutations(FIELDS))[: draw(st.integers(0, 3))]
    parts = [("-" if draw(st.booleans()) else "") + name for name in names]
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), "-id" if draw(st.booleans()) else "id")
    return ",".join(parts)


def expected_order(rows: Sequence[dict[str, Any]], sort: str) -> list[int]:
    """Row ids in the order ``sort`` defines, NULL greater than every value, ``id`` the final tiebreaker."""
    keys = [(part.lstrip("-"), part.startswith("-")) for part in sort.split(",") if part]
    if "id" not in [name for name, _ in keys]:
        keys.append(("id", False))

    def compare(x: dict[str, Any], y: dict[str, Any]) -> int:
        for name, descending in keys:
            a, b = x[name], y[name]
            if a == b:
                continue
            if a is None:
                result = 1
            elif b is None:
                result = -1
            else:
                result = -1 if a < b else 1
            return -result if descending else result
        return 0

    return [row["id"] for row in sorted(rows, key=functools.cmp_to_key(compare))]


def walk(fetch: Fetch, sort: str, limit: int) -> tuple[list[int], list[int]]:
    """Ids seen walking forward to the end, then backward from the last page to the first."""
    base = [("limit", str(limit)), ("sort", sort)]
    forward: list[int] = []
    pages: list[Page[Any]] = []
    page = fetch(base)
    while True:
        pages.append(page)
        forward.extend(_id(item) for item in page.items)
        assert len(pages) < 500, "the walk does not end"
        if page.next_cursor is None:
            assert not page.has_next
            break
        page = fetch([*base, ("cursor", page.next_cursor)])
    backward: list[int] = []
    page = pages[-1]
    backward[:0] = [_id(item) for item in page.items]
    while page.prev_cursor is not None:
        page = fetch([*base, ("cursor", page.prev_cursor)])
        assert len(page.items) == limit, "a page walked backward is a full page"
        backward[:0] = [_id(item) for item in page.items]
        assert len(backward) <= len(forward) + limit
    return forward, backward


def _id(item: Any) -> int:
    return int(item["id"] if isinstance(item, dict) else item.id)


def walk_with_churn(load: Callable[[list[dict[str, Any]]], None], fetch: Fetch, rows: list[dict[str, Any]]) -> None:
    """Walk forward while rows are inserted on both sides of the position and unseen rows deleted.

    Every row present from the start and never deleted is seen exactly once; no row is seen twice.
    """
    rows = [dict(r) for r in rows]
    load(rows)
    kept = {r["id"] for r in rows}
    seen: list[int] = []
    base = [("limit", "3"), ("sort", "-a,c")]
    page = fetch(base)
    new_id = 10_000
    while True:
        seen.extend(_id(item) for item in page.items)
        rows.append({"id": new_id, "a": new_id % 4, "b": None, "c": 0})
        rows.append({"id": new_id + 1, "a": None, "b": None, "c": 1})
        new_id += 2
        unseen = [r for r in rows if r["id"] in kept and r["id"] not in seen]
        if unseen:
            victim = unseen[len(unseen) // 2]
            rows.remove(victim)
            kept.discard(victim["id"])
        load(rows)
        if page.next_cursor is None:
            break
        page = fetch([*base, ("cursor", page.next_cursor)])
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert kept <= set(seen), "a row that was there all along was skipped"
