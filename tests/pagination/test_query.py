"""The query-string parser every adapter shares agrees with the standard library's."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.pagination import parse_query

query_bytes = st.lists(
    st.sampled_from([b"a", b"=", b"&", b"+", b"%", b"2", b"C", b"%2C", b"%E2%82%AC", b"\xc3\xa9", b"%zz"])
)


@settings(max_examples=500)
@given(parts=query_bytes)
def test_parse_query_agrees_with_parse_qsl(parts: list[bytes]) -> None:
    raw = b"".join(parts)
    expected = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True, errors="replace")
    assert list(parse_query(raw)) == expected


def test_blank_values_are_kept_and_order_is_the_wire_order() -> None:
    assert parse_query(b"b=2&a=&b=1&c") == (("b", "2"), ("a", ""), ("b", "1"), ("c", ""))
