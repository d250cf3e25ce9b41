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


@given(present=PAIRS, queued=PAIRS)
def test_the_view_merges_as_plain_headers_do(present: list[tuple[str, str]], queued: list[tuple[str, str]]) -> None:
    # The view only reads the names once (werkzeug's own get and set scan the list): the
    # result must be what the channel's rule gives on werkzeug's Headers themselves.
    plain, viewed = Headers(present), Headers(present)
    add_headers(plain, queued)
    add_headers(_Fields(viewed), queued)
    assert viewed.to_wsgi_list() == plain.to_wsgi_list()


def test_a_field_the_view_set_gets_the_queued_value_after_its_own() -> None:
    headers = Headers([("ratelimit", '"app";r=1;t=5'), ("Content-Type", "application/json")])
    add_headers(_Fields(headers), [("RateLimit", '"m";r=2;t=9'), ("RateLimit-Policy", '"m";q=3;w=60')])
    assert headers.getlist("RateLimit") == ['"app";r=1;t=5, "m";r=2;t=9']
    assert headers["ratelimit-policy"] == '"m";q=3;w=60'
