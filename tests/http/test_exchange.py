"""HttpSemantics and HttpExchange: what every adapter asks before routing and for every response."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import APIError, BadRequest, ConfigurationError, Gone
from backendkit.http import (
    NONE,
    ConditionalRequests,
    Conditions,
    Deprecation,
    ETag,
    HttpSemantics,
    Verdict,
    Versioning,
    conditional_setting,
    format_http_date,
    request_preconditions,
    revalidate,
)

UTC = timezone.utc
NOW = 1_800_000_000.0
V1 = Deprecation(
    datetime(2026, 6, 1, tzinfo=UTC),
    sunset=datetime(2027, 6, 1, tzinfo=UTC),
    link="https://tasks.example.com/docs/migrate-to-v2",
)
RETIRED = Deprecation(datetime(2020, 1, 1, tzinfo=UTC), sunset=datetime(2021, 1, 1, tzinfo=UTC), gone_after_sunset=True)
MIGRATE = '<https://tasks.example.com/docs/migrate-to-v2>; rel="deprecation"; type="text/html"'
BODY = b'{"id":1}'
JSON = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
BOTH = HttpSemantics(ConditionalRequests(), Versioning({"0": RETIRED, "1": V1, "2": None}))


def headers_of(**headers: str) -> object:
    lowered = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    return lambda name: lowered.get(name.lower())


def names(headers: list[tuple[str, str]]) -> list[str]:
    return [name.lower() for name, _ in headers]


def value(headers: list[tuple[str, str]], name: str) -> str | None:
    found = [v for k, v in headers if k.lower() == name.lower()]
    assert len(found) <= 1, f"{name} sent {len(found)} times"
    return found[0] if found else None


def test_off_is_inactive_and_changes_nothing() -> None:
    off = HttpSemantics.from_settings(None, None)
    assert not off.active
    exchange = off.begin("GET", "/v9/x", headers_of(If_Match="junk"), now=NOW)  # type: ignore[arg-type]
    done = exchange.finish(200, JSON, BODY, now=NOW)
    assert (done.status, done.headers, done.send_body, done.error) == (200, JSON, True, None)
    assert HttpSemantics.from_settings(True, None).active
    assert HttpSemantics.from_settings(False, {"versions": ["1"]}).active


def test_a_200_get_gets_the_tag_of_its_bytes_and_a_matching_get_a_304() -> None:
    semantics = HttpSemantics.from_settings(True, None)
    first = semantics.begin("GET", "/tasks", headers_of(), now=NOW).finish(200, JSON, BODY, now=NOW)  # type: ignore[arg-type]
    tag = str(ETag.of(BODY))
    assert first.status == 200
    assert value(first.headers, "ETag") == tag
    assert first.send_body
    again = semantics.begin("GET", "/tasks", headers_of(If_None_Match=tag), now=NOW)  # type: ignore[arg-type]
    done = again.finish(200, [*JSON, ("Cache-Control", "no-cache"), ("X-Request-ID", "r1")], BODY, now=NOW)
    assert done.status == 304
    assert not done.send_body
    assert done.error is None
    assert done.headers == [("Cache-Control", "no-cache"), ("X-Request-ID", "r1"), ("ETag", tag)]


def test_the_route_s_own_tag_wins_and_a_head_is_tagged_like_its_get() -> None:
    semantics = HttpSemantics(ConditionalRequests())
    own = [*JSON, ("ETag", '"v3"')]
    done = semantics.begin("GET", "/t/1", headers_of(), now=NOW).finish(200, own, BODY, now=NOW)  # type: ignore[arg-type]
    assert done.headers == own
    head = semantics.begin("HEAD", "/t", headers_of(), now=NOW).finish(200, JSON, BODY, now=NOW)  # type: ignore[arg-type]
    get = semantics.begin("GET", "/t", headers_of(), now=NOW).finish(200, JSON, BODY, now=NOW)  # type: ignore[arg-type]
    assert value(head.headers, "ETag") == value(get.headers, "ETag") is not None
    streamed = semantics.begin("GET", "/t", headers_of(), now=NOW).finish(200, JSON, None, now=NOW)  # type: ignore[arg-type]
    assert value(streamed.headers, "ETag") is None


@pytest.mark.parametrize("status", [201, 204, 206, 301, 404, 500])
def test_only_a_200_is_tagged_or_revalidated(status: int) -> None:
    semantics = HttpSemantics(ConditionalRequests())
    exchange = semantics.begin("GET", "/t", headers_of(If_None_Match="*"), now=NOW)  # type: ignore[arg-type]
    done = exchange.finish(status, JSON, BODY, now=NOW)
    assert (done.status, done.headers, done.send_body) == (status, JSON, True)


def test_no_auto_tag_past_max_body_or_when_off() -> None:
    small = HttpSemantics(ConditionalRequests(max_body=len(BODY) - 1))
    assert (
        value(small.begin("GET", "/", headers_of(), now=NOW).finish(200, JSON, BODY, now=NOW).headers, "ETag") is None
    )  # type: ignore[arg-type]
    off = HttpSemantics(ConditionalRequests(auto_etag=False))
    assert value(off.begin("GET", "/", headers_of(), now=NOW).finish(200, JSON, BODY, now=NOW).headers, "ETag") is None  # type: ignore[arg-type]


def test_a_get_whose_if_match_fails_becomes_the_412_with_the_current_tag() -> None:
    semantics = HttpSemantics(ConditionalRequests())
    exchange = semantics.begin("GET", "/t/1", headers_of(If_Match='"v2"'), now=NOW)  # type: ignore[arg-type]
    done = exchange.finish(200, [*JSON, ("ETag", '"v3"')], BODY, now=NOW)
    assert done.error is not None
    assert done.error.status == 412
    assert done.error.headers == {"ETag": '"v3"'}
    assert done.error.details == {"etag": '"v3"'}


def test_a_304_by_date_keeps_last_modified() -> None:
    semantics = HttpSemantics(ConditionalRequests())
    modified = format_http_date(NOW - 100)
    exchange = semantics.begin("GET", "/t", headers_of(If_Modified_Since=format_http_date(NOW - 10)), now=NOW)  # type: ignore[arg-type]
    done = exchange.finish(200, [*JSON, ("Last-Modified", modified)], BODY, now=NOW)
    assert done.status == 304
    assert value(done.headers, "Last-Modified") == modified
    assert value(done.headers, "ETag") == str(ETag.of(BODY))


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_malformed_if_match_is_a_400_before_routing(method: str) -> None:
    with pytest.raises(BadRequest) as raised:
        HttpSemantics(ConditionalRequests()).begin(method, "/t", headers_of(If_Match="v1"), now=NOW)  # type: ignore[arg-type]
    assert raised.value.code == "MALFORMED_PRECONDITION"
    # Without the conditional layer the header is the route's business (its preconditions() refuses it).
    HttpSemantics(versioning=Versioning(["1"])).begin(method, "/t", headers_of(If_Match="v1"), now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "TRACE"])
def test_an_unsafe_request_s_preconditions_are_left_to_its_route(method: str) -> None:
    # Read before routing, a malformed If-Match would turn a method no route serves (405) into a 400.
    exchange = HttpSemantics(ConditionalRequests()).begin(method, "/t", headers_of(If_Match="v1"), now=NOW)  # type: ignore[arg-type]
    assert (exchange.conditions_read, exchange.conditions) == (False, NONE)
    with pytest.raises(BadRequest):
        request_preconditions(exchange, method, headers_of(If_Match="v1"), required=False)  # type: ignore[arg-type]
    asked = request_preconditions(exchange, method, headers_of(If_Match='"v1"'), required=True)  # type: ignore[arg-type]
    assert asked.expected_version == "1"


def test_versions_before_routing() -> None:
    exchange = BOTH.begin("GET", "/v2/tasks", headers_of(), now=NOW)  # type: ignore[arg-type]
    assert exchange.version == "2"
    assert exchange.deprecation is None
    assert BOTH.begin("GET", "/tasks", headers_of(), now=NOW).version is None  # type: ignore[arg-type]
    with pytest.raises(APIError) as unknown:
        BOTH.begin("GET", "/v9/tasks", headers_of(), now=NOW)  # type: ignore[arg-type]
    assert unknown.value.status == 404
    assert unknown.value.details == {"requested": "9", "supported": ["0", "1", "2"]}
    with pytest.raises(Gone) as gone:
        BOTH.begin("GET", "/v0/tasks", headers_of(), now=NOW)  # type: ignore[arg-type]
    assert gone.value.headers == {"Deprecation": "@1577836800", "Sunset": "Fri, 01 Jan 2021 00:00:00 GMT"}


@pytest.mark.parametrize("status", [200, 201, 304, 400, 404, 412, 500])
def test_a_deprecated_version_s_answers_all_carry_the_headers(status: int) -> None:
    exchange = BOTH.begin("GET", "/v1/tasks/1", headers_of(), now=NOW)  # type: ignore[arg-type]
    done = exchange.finish(status, JSON, BODY, now=NOW)
    assert value(done.headers, "Deprecation") == "@1780272000"
    assert value(done.headers, "Sunset") == "Tue, 01 Jun 2027 00:00:00 GMT"
    assert (
        value(done.headers, "Link")
        == '<https://tasks.example.com/docs/migrate-to-v2>; rel="deprecation"; type="text/html"'
    )


def test_a_route_s_deprecation_wins_and_a_retired_route_is_gone() -> None:
    exchange = BOTH.begin("GET", "/v1/tasks", headers_of(), now=NOW)  # type: ignore[arg-type]
    own = Deprecation(datetime(2026, 9, 1, tzinfo=UTC))
    exchange.deprecate(own, now=NOW)
    done = exchange.finish(200, JSON, BODY, now=NOW)
    assert value(done.headers, "Deprecation") == "@1788220800"
    assert value(done.headers, "Sunset") is None
    with pytest.raises(Gone):
        BOTH.begin("GET", "/tasks", headers_of(), now=NOW).deprecate(RETIRED, now=NOW)  # type: ignore[arg-type]


def test_the_deprecation_link_joins_the_response_s_own_once() -> None:
    exchange = BOTH.begin("GET", "/v1/tasks", headers_of(), now=NOW)  # type: ignore[arg-type]
    done = exchange.finish(200, [*JSON, ("Link", '</v1/tasks?page=2>; rel="next"')], BODY, now=NOW)
    expected = '</v1/tasks?page=2>; rel="next", ' + MIGRATE
    assert value(done.headers, "Link") == expected
    # Finished twice (an adapter that renders the error finish() returned finishes that too): still once.
    again = exchange.finish(200, done.headers, BODY, now=NOW)
    assert value(again.headers, "Link") == expected


def test_every_link_header_of_the_response_survives() -> None:
    # ASGI and WSGI responses may repeat a header. Merging the deprecation link into the first Link and
    # dropping the rest loses the response's own links (a page's rel="next" or rel="prev").
    exchange = BOTH.begin("GET", "/v1/tasks", headers_of(), now=NOW)  # type: ignore[arg-type]
    own = [("Link", '</v1/tasks?page=3>; rel="next"'), ("Link", '</v1/tasks?page=1>; rel="prev"')]
    done = exchange.finish(200, [*JSON, *own], BODY, now=NOW)
    sent = ", ".join(v for k, v in done.headers if k.lower() == "link")
    assert 'rel="next"' in sent
    assert 'rel="prev"' in sent
    assert 'rel="deprecation"' in sent


@pytest.mark.parametrize(
    ("vary", "expected"),
    [
        ([], ["API-Version"]),
        ([("Vary", "Origin")], ["Origin, API-Version"]),
        ([("vary", "origin, api-version")], ["origin, api-version"]),
        ([("Vary", "*")], ["*"]),
    ],
)
def test_a_header_version_adds_itself_to_vary(vary: list[tuple[str, str]], expected: list[str]) -> None:
    semantics = HttpSemantics(versioning=Versioning(["1", "2"], source="header"))
    done = semantics.begin("GET", "/t", headers_of(API_Version="1"), now=NOW).finish(200, [*JSON, *vary], BODY, now=NOW)  # type: ignore[arg-type]
    assert [v for k, v in done.headers if k.lower() == "vary"] == expected


def test_every_vary_header_of_the_response_survives() -> None:
    # Dropping a Vary value a response was sent with lets a cache serve it to requests it does not fit.
    semantics = HttpSemantics(versioning=Versioning(["1", "2"], source="header"))
    own = [("Vary", "Origin"), ("Vary", "Accept-Encoding")]
    done = semantics.begin("GET", "/t", headers_of(), now=NOW).finish(200, [*JSON, *own], BODY, now=NOW)  # type: ignore[arg-type]
    varied = {v.strip().lower() for k, value_ in done.headers if k.lower() == "vary" for v in value_.split(",")}
    assert varied == {"origin", "accept-encoding", "api-version"}


def test_finish_does_not_change_the_headers_it_is_given() -> None:
    given_headers = [*JSON, ("Link", "<a>"), ("Vary", "Origin")]
    copy = list(given_headers)
    exchange = HttpSemantics(ConditionalRequests(), Versioning({"1": V1}, source="header")).begin(
        "GET",
        "/t",
        headers_of(),
        now=NOW,  # type: ignore[arg-type]
    )
    exchange.finish(200, given_headers, BODY, now=NOW)
    assert given_headers == copy


@given(
    st.sampled_from(["GET", "HEAD", "PUT", "POST"]),
    st.sampled_from([200, 201, 404, 412]),
    st.dictionaries(
        st.sampled_from(
            ["If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "API-Version", "Accept"]
        ),
        st.sampled_from(['"v1"', "*", 'W/"x"', "1", "2", format_http_date(NOW), "junk", ""]),
    ),
    st.none() | st.binary(max_size=16),
)
def test_begin_and_finish_answer_or_raise_api_errors_only(
    method: str, status: int, request_headers: dict[str, str], body: bytes | None
) -> None:
    semantics = HttpSemantics(ConditionalRequests(), Versioning({"1": V1, "2": None}, source="header"))
    lowered = {k.lower(): v for k, v in request_headers.items()}
    try:
        exchange = semantics.begin(method, "/t", lambda name: lowered.get(name.lower()), now=NOW)
    except APIError as exc:
        refused = exc.status
    else:
        refused = None
    if refused is not None:
        assert refused in (400, 404, 410)
        return
    done = exchange.finish(status, JSON, body, now=NOW)
    assert done.status in (status, 304)
    if done.status == 304:
        assert method in ("GET", "HEAD")
        assert status == 200
        assert not done.send_body
        assert "content-type" not in names(done.headers)
    if done.error is not None:
        assert done.error.status == 412
        assert status == 200


def test_revalidate_directly() -> None:
    setting = ConditionalRequests()
    kept = revalidate(setting, "POST", NONE, 200, etag=None, last_modified=None, body=BODY, now=NOW)
    assert kept.etag is None
    assert kept.verdict is Verdict.PROCEED
    tagged = revalidate(setting, "GET", NONE, 200, etag=None, last_modified=None, body=BODY, now=NOW)
    assert tagged.etag == str(ETag.of(BODY))
    assert tagged.current == ETag.of(BODY)
    weak = revalidate(
        setting,
        "GET",
        Conditions(if_none_match=(ETag("x"),)),
        200,
        etag='W/"x"',
        last_modified=None,
        body=BODY,
        now=NOW,
    )
    assert weak.etag is None
    assert weak.verdict is Verdict.NOT_MODIFIED


def test_the_conditional_setting() -> None:
    assert conditional_setting(None) is None
    assert conditional_setting(False) is None
    assert conditional_setting(True) == ConditionalRequests()
    assert conditional_setting({"MAX_BODY": 10}) == ConditionalRequests(max_body=10)
    for bad in ({"max_body": -1}, {"nope": 1}, "yes", 1):
        with pytest.raises(ConfigurationError):
            conditional_setting(bad)


def test_a_refusal_before_routing_carries_its_version_s_deprecation() -> None:
    semantics = HttpSemantics(ConditionalRequests(), Versioning({"1": V1, "2": None}))
    with pytest.raises(BadRequest) as raised:
        semantics.begin("GET", "/v1/tasks", headers_of(If_Match="v1"), now=NOW)  # type: ignore[arg-type]
    assert raised.value.headers == dict(V1.all_headers())
    with pytest.raises(BadRequest) as raised:
        semantics.begin("GET", "/v2/tasks", headers_of(If_Match="v1"), now=NOW)  # type: ignore[arg-type]
    assert raised.value.headers == {}
