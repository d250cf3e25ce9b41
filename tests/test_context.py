from __future__ import annotations

import asyncio
import string
import threading

from hypothesis import given
from hypothesis import strategies as st

from backendkit.context import choose_request_id, get_request_id, is_valid_request_id, request_id_var

ALLOWED = string.ascii_letters + string.digits + "._-"


@given(st.text(alphabet=ALLOWED, min_size=1, max_size=128))
def test_allowed_ids_are_valid(value: str) -> None:
    assert is_valid_request_id(value)
    assert choose_request_id(value, trust_incoming=True, generate=lambda: "fresh") == value


@given(st.text(max_size=300))
def test_anything_else_is_replaced(value: str) -> None:
    valid = 1 <= len(value) <= 128 and all(c in ALLOWED for c in value)
    assert is_valid_request_id(value) is valid
    expected = value if valid else "fresh"
    assert choose_request_id(value, trust_incoming=True, generate=lambda: "fresh") == expected


def test_newline_at_the_end_is_not_valid() -> None:
    assert not is_valid_request_id("abc\n")


def test_untrusted_ids_are_always_replaced() -> None:
    assert choose_request_id("abc", trust_incoming=False, generate=lambda: "fresh") == "fresh"
    assert choose_request_id(None, trust_incoming=True, generate=lambda: "fresh") == "fresh"


def test_contextvar_does_not_leak_between_tasks_or_threads() -> None:
    seen: dict[str, str | None] = {}

    async def task(name: str) -> None:
        token = request_id_var.set(name)
        await asyncio.sleep(0.01)
        seen[name] = get_request_id()
        request_id_var.reset(token)

    async def main() -> None:
        await asyncio.gather(*(task(f"t{i}") for i in range(20)))

    asyncio.run(main())
    assert seen == {f"t{i}": f"t{i}" for i in range(20)}

    thread_seen: list[str | None] = []
    token = request_id_var.set("main")
    try:
        t = threading.Thread(target=lambda: thread_seen.append(get_request_id()))
        t.start()
        t.join()
    finally:
        request_id_var.reset(token)
    assert thread_seen == [None]
    assert get_request_id() is None
