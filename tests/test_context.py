from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from backendkit.context import choose_request_id, get_request_id, is_valid_request_id

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


def test_no_request_no_id() -> None:
    # Isolation between concurrent requests is tested end to end in
    # tests/conformance (test_concurrent_requests_keep_their_own_ids).
    assert get_request_id() is None
