"""HttpSecurity remembers the answers to the preflights it has seen: the same answers, in bounded memory."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.security import CORS
from backendkit.security._exchange import MAX_PREFLIGHTS, HttpSecurity

ALLOWED = "https://app.example.com"


def security() -> HttpSecurity:
    cors = CORS(allow_origins=[ALLOWED, "https://*.example.org"], allow_credentials=True)
    return HttpSecurity(cors, None, request_id_header="X-Request-ID")


Ask = tuple[str, str, str | None, bool]
asks = st.tuples(
    st.sampled_from([ALLOWED, "https://a.example.org", "https://example.org", "https://evil.test", "null"]),
    st.sampled_from(["GET", "PUT", "DELETE", "TRACE", "put"]),
    st.sampled_from([None, "", "authorization", "Authorization, Content-Type", "x-evil", "content-type, x-evil"]),
    st.booleans(),
)


@settings(max_examples=60)
@given(st.lists(asks, min_size=1, max_size=40))
def test_every_answer_is_the_policys_own_whatever_came_before(sequence: list[Ask]) -> None:
    http = security()
    assert http.cors is not None
    for origin, method, headers, private in sequence:
        exchange = http.begin(
            "OPTIONS",
            "/items",
            origin=origin,
            https=False,
            authorization=False,
            request_method=method,
            request_headers=headers,
            private_network=private,
        )
        assert exchange.preflight == http.cors.preflight(origin, method, headers, private)


def test_an_allowed_then_a_refused_header_set_from_the_same_origin() -> None:
    http = security()
    ask = {"https": False, "authorization": False, "request_method": "PUT", "origin": ALLOWED}
    first = http.begin("OPTIONS", "/items", request_headers="authorization", **ask)  # type: ignore[arg-type]
    second = http.begin("OPTIONS", "/items", request_headers="x-evil", **ask)  # type: ignore[arg-type]
    again = http.begin("OPTIONS", "/items", request_headers="authorization", **ask)  # type: ignore[arg-type]
    assert first.preflight is not None
    assert first.preflight.allowed
    assert second.preflight is not None
    assert not second.preflight.allowed
    assert again.preflight == first.preflight


def test_the_memory_stays_bounded_whatever_pages_send() -> None:
    http = security()
    for n in range(MAX_PREFLIGHTS * 3):
        http.begin(
            "OPTIONS",
            "/items",
            origin=f"https://site{n}.test",
            https=False,
            authorization=False,
            request_method="PUT",
        )
        http.begin(  # a long header list is answered but not kept
            "OPTIONS",
            "/items",
            origin=ALLOWED,
            https=False,
            authorization=False,
            request_method="PUT",
            request_headers=f"x-{n}-" + "a" * 2000,
        )
        assert len(http._preflights) <= MAX_PREFLIGHTS  # (what the memo holds: the one thing to bound)
    assert all(len(headers or "") < 2000 for _, _, headers, _ in http._preflights)
