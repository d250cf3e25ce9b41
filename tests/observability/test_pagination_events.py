"""PageServed per strategy and CursorRefused with its reason, through each framework's page_request."""

from __future__ import annotations

import time

import pytest

from backendkit.observability import observe
from backendkit.observability._core.events import CursorRefused, PageServed
from tests.observability.apps import ITEMS, PAGES
from tests.observability.clients import FRAMEWORKS, client
from tests.support.observing import RecordingObserver


def tampered_cursor() -> str:
    """A cursor this endpoint issued, one character of its signature changed."""
    first = PAGES.paginate_sequence(ITEMS, PAGES.parse({}, now=time.time(), path="/pages"))
    cursor = first.next_cursor
    assert cursor is not None
    return cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_strategy_and_refused_cursors(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen):
        assert send("GET", "/pages?page=2&per_page=5") == 200
        assert send("GET", "/pages?limit=5&offset=10") == 200
        assert send("GET", "/pages") == 200
        assert send("GET", "/pages?cursor=not-a-cursor") == 400
        assert send("GET", f"/pages?cursor={tampered_cursor()}") == 400
        assert send("GET", "/pages?page=abc") == 400  # refused, but not a cursor: no event
    assert [e.strategy for e in seen.of(PageServed)] == ["page", "offset", "cursor"]
    assert seen.of(CursorRefused) == [CursorRefused("malformed"), CursorRefused("signature")]
