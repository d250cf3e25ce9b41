"""The Flask extension's view of werkzeug ``Headers`` for the response-header channel."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from backendkit._headers import add_headers
from backendkit.flask._extension import _Fields

NAMES = st.sampled_from(["RateLimit", "ratelimit", "RATELIMIT", "RateLimit-Policy", "Retry-After", "X-Other"])
VALUES = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=8)
PAIRS = st.lists(st.tuples(NAMES, VALUES), max_size=6)


def fields(headers: Headers) -> dict[str, str]:
    """Each field once, by its lower-case name: its lines joined with ", " (what a client reads)."""
    out: dict[str, list[str]] = {}
    for name, value in headers.items():
        out.setdefault(name.lower(), []).append(value)
    return {name: ", ".join(values) for name, values in out.items()}


@given(present=PAIRS, queued=PAIRS)
def test_a_queued_value_follows_every_line_of_its_field(
    present: list[tuple[str, str]], queued: list[tuple[str, str]]
) -> None:
    # The channel's rule, field by field: the response's own lines (all of them), then the
    # queued values in order; no other field moves.
    expected = fields(Headers(present))
    for name, value in queued:
        lowered = name.lower()
        expected[lowered] = f"{expected[lowered]}, {value}" if lowered in expected else value
    headers = Headers(present)
    add_headers(_Fields(headers), queued)
    assert fields(headers) == expected


def test_a_field_the_view_set_gets_the_queued_value_after_its_own() -> None:
    headers = Headers([("ratelimit", '"app";r=1;t=5'), ("Content-Type", "application/json")])
    add_headers(_Fields(headers), [("RateLimit", '"m";r=2;t=9'), ("RateLimit-Policy", '"m";q=3;w=60')])
    assert headers.getlist("RateLimit") == ['"app";r=1;t=5, "m";r=2;t=9']
    assert headers["ratelimit-policy"] == '"m";q=3;w=60'


def test_a_field_of_two_lines_keeps_both() -> None:
    # werkzeug's get reads the first line only; the second was dropped when the field was set.
    headers = Headers([("RateLimit", '"up1";r=1;t=5'), ("RateLimit", '"up2";r=2;t=5')])
    add_headers(_Fields(headers), [("RateLimit", '"m";r=3;t=9')])
    assert headers.getlist("RateLimit") == ['"up1";r=1;t=5, "up2";r=2;t=5, "m";r=3;t=9']
