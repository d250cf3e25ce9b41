"""RFC 9110 §13.2.2: the four preconditions in the RFC's order, case by case, and the properties that follow."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import BadRequest, PreconditionFailed, PreconditionRequired
from backendkit.http import (
    ANY,
    NONE,
    NOT_MODIFIED_DROPS,
    Conditions,
    ETag,
    MalformedPrecondition,
    NotModified,
    Preconditions,
    Verdict,
    check,
    conditions_of,
    evaluate,
    format_http_date,
    not_modified_headers,
)

P, NM, F, R = Verdict.PROCEED, Verdict.NOT_MODIFIED, Verdict.FAILED, Verdict.REQUIRED
V1, V2, W1 = ETag("v1"), ETag("v2"), ETag("v1", weak=True)
T0 = 1_700_000_000  # the resource's last modification
BEFORE, AFTER = T0 - 60, T0 + 60
NOW = T0 + 3600

METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
OPAQUE = st.sampled_from(["v1", "v2", "v3", "a,b", ""])
TAG = st.builds(ETag, OPAQUE, st.booleans())
TAGS = st.one_of(st.just(ANY), st.lists(TAG, min_size=1, max_size=3).map(tuple))
DATES = st.integers(T0 - 120, T0 + 120)
CONDITIONS = st.builds(
    Conditions,
    if_match=st.none() | TAGS,
    if_none_match=st.none() | TAGS,
    if_modified_since=st.none() | DATES,
    if_unmodified_since=st.none() | DATES,
)


def c(**kwargs: object) -> Conditions:
    return Conditions(**kwargs)  # type: ignore[arg-type]


# (method, conditions, current etag, last modified, exists, verdict): RFC 9110 §13.2.2 steps 1-4, and §13.1.1-4.
TABLE = [
    # 1. If-Match: strong comparison; * is any current representation.
    ("PUT", c(if_match=(V1,)), V1, T0, True, P),
    ("PUT", c(if_match=(V2,)), V1, T0, True, F),
    ("PUT", c(if_match=(V2, V1)), V1, T0, True, P),
    ("PUT", c(if_match=(W1,)), V1, T0, True, F),  # a weak tag never matches strongly
    ("PUT", c(if_match=(V1,)), W1, T0, True, F),
    ("PUT", c(if_match=(V1,)), None, T0, True, F),  # no current tag: nothing matches
    ("PUT", c(if_match=ANY), V1, T0, True, P),
    ("PUT", c(if_match=ANY), None, None, True, P),
    ("PUT", c(if_match=ANY), None, None, False, F),  # * needs a current representation
    ("PUT", c(if_match=(V1,)), None, None, False, F),
    ("GET", c(if_match=(V2,)), V1, T0, True, F),  # a GET with a false If-Match is a 412 too
    ("DELETE", c(if_match=(V1,)), V1, T0, True, P),
    # 2. If-Unmodified-Since, only without If-Match, only with a date.
    ("PUT", c(if_unmodified_since=T0), V1, T0, True, P),
    ("PUT", c(if_unmodified_since=AFTER), V1, T0, True, P),
    ("PUT", c(if_unmodified_since=BEFORE), V1, T0, True, F),
    ("PUT", c(if_unmodified_since=BEFORE), V1, None, True, P),  # no modification date: ignored
    ("PUT", c(if_unmodified_since=BEFORE), None, T0, False, P),  # no representation: ignored
    ("PUT", c(if_match=(V1,), if_unmodified_since=BEFORE), V1, T0, True, P),  # If-Match present: ignored
    ("PUT", c(if_match=(V2,), if_unmodified_since=AFTER), V1, T0, True, F),
    ("GET", c(if_unmodified_since=BEFORE), V1, T0, True, F),
    # 3. If-None-Match: weak comparison; 304 for GET/HEAD, 412 for the rest.
    ("GET", c(if_none_match=(V1,)), V1, T0, True, NM),
    ("HEAD", c(if_none_match=(V1,)), V1, T0, True, NM),
    ("GET", c(if_none_match=(W1,)), V1, T0, True, NM),
    ("GET", c(if_none_match=(V1,)), W1, T0, True, NM),
    ("GET", c(if_none_match=(V2,)), V1, T0, True, P),
    ("GET", c(if_none_match=(V2, W1)), V1, T0, True, NM),
    ("GET", c(if_none_match=(V1,)), None, T0, True, P),
    ("GET", c(if_none_match=ANY), V1, T0, True, NM),
    ("GET", c(if_none_match=ANY), None, None, True, NM),
    ("GET", c(if_none_match=ANY), None, None, False, P),
    ("PUT", c(if_none_match=ANY), None, None, False, P),  # create only if absent
    ("PUT", c(if_none_match=ANY), V1, T0, True, F),
    ("PUT", c(if_none_match=(V1,)), V1, T0, True, F),
    ("POST", c(if_none_match=(W1,)), V1, T0, True, F),
    ("DELETE", c(if_none_match=(V2,)), V1, T0, True, P),
    ("OPTIONS", c(if_none_match=(V1,)), V1, T0, True, F),  # only GET and HEAD get the 304
    # 4. If-Modified-Since: GET/HEAD only, only without If-None-Match.
    ("GET", c(if_modified_since=T0), V1, T0, True, NM),
    ("GET", c(if_modified_since=AFTER), V1, T0, True, NM),
    ("HEAD", c(if_modified_since=AFTER), V1, T0, True, NM),
    ("GET", c(if_modified_since=BEFORE), V1, T0, True, P),
    ("GET", c(if_modified_since=AFTER), V1, None, True, P),  # no modification date
    ("GET", c(if_modified_since=AFTER), V1, T0, False, P),
    ("PUT", c(if_modified_since=AFTER), V1, T0, True, P),  # not a GET/HEAD: ignored
    ("GET", c(if_none_match=(V2,), if_modified_since=AFTER), V1, T0, True, P),  # If-None-Match wins
    ("GET", c(if_none_match=(V1,), if_modified_since=BEFORE), V1, T0, True, NM),
    # The order: a failed If-Match (412) before a matching If-None-Match (304).
    ("GET", c(if_match=(V2,), if_none_match=(V1,)), V1, T0, True, F),
    ("GET", c(if_match=(V1,), if_none_match=(V1,)), V1, T0, True, NM),
    ("GET", c(if_unmodified_since=BEFORE, if_modified_since=AFTER), V1, T0, True, F),
    ("PUT", c(if_match=(V1,), if_none_match=(V1,)), V1, T0, True, F),
]


@pytest.mark.parametrize(("method", "conditions", "etag", "modified", "exists", "verdict"), TABLE)
def test_rfc_9110_order_case_by_case(
    method: str, conditions: Conditions, etag: ETag | None, modified: int | None, exists: bool, verdict: Verdict
) -> None:
    assert evaluate(method, conditions, etag=etag, last_modified=modified, exists=exists, now=NOW) is verdict


def test_an_if_modified_since_in_the_future_is_ignored() -> None:
    future = c(if_modified_since=NOW + 10)
    assert evaluate("GET", future, etag=V1, last_modified=T0, now=NOW) is P
    assert evaluate("GET", future, etag=V1, last_modified=T0) is NM  # no clock given: taken as it is


@pytest.mark.parametrize(
    ("method", "conditions", "verdict"),
    [
        ("PUT", NONE, R),
        ("PATCH", NONE, R),
        ("DELETE", c(if_modified_since=BEFORE), R),  # If-Modified-Since guards nothing
        ("PUT", c(if_match=(V1,)), P),
        ("PUT", c(if_match=ANY), P),
        ("PUT", c(if_none_match=ANY), F),
        ("PUT", c(if_unmodified_since=AFTER), P),
        ("GET", NONE, P),  # a read needs no precondition
        ("HEAD", NONE, P),
    ],
)
def test_required_preconditions(method: str, conditions: Conditions, verdict: Verdict) -> None:
    assert evaluate(method, conditions, etag=V1, last_modified=T0, required=True, now=NOW) is verdict


@given(METHODS, CONDITIONS, st.none() | TAG, st.none() | DATES, st.booleans())
def test_if_none_match_star_on_an_existing_resource_never_proceeds(
    method: str, asked: Conditions, etag: ETag | None, modified: int | None, required: bool
) -> None:
    conditions = Conditions(asked.if_match, ANY, asked.if_modified_since, asked.if_unmodified_since)
    verdict = evaluate(method, conditions, etag=etag, last_modified=modified, exists=True, required=required, now=NOW)
    assert verdict is not P
    assert verdict in ((NM, F) if method in ("GET", "HEAD") else (F,))


@given(METHODS, CONDITIONS, st.none() | TAG, st.none() | DATES, st.booleans(), st.booleans())
def test_verdicts_by_method(
    method: str, conditions: Conditions, etag: ETag | None, modified: int | None, exists: bool, required: bool
) -> None:
    verdict = evaluate(method, conditions, etag=etag, last_modified=modified, exists=exists, required=required, now=NOW)
    read = method in ("GET", "HEAD")
    if read:
        assert verdict is not R  # never a 428 for a read
    else:
        assert verdict is not NM  # never a 304 for a change
    if conditions.empty and not (required and not read):
        assert verdict is P
    if required and not read and not conditions.guards_a_change:
        assert verdict is R


@given(METHODS, CONDITIONS, st.none() | TAG, st.none() | DATES, st.booleans())
def test_a_failed_if_match_is_412_whatever_follows(
    method: str, asked: Conditions, etag: ETag | None, modified: int | None, exists: bool
) -> None:
    stale = (ETag("never-current"),)
    conditions = Conditions(stale, asked.if_none_match, asked.if_modified_since, asked.if_unmodified_since)
    assert evaluate(method, conditions, etag=etag, last_modified=modified, exists=exists, now=NOW) is F


@given(METHODS, CONDITIONS, TAG, st.none() | DATES)
def test_the_current_strong_tag_in_if_match_never_fails_the_first_step(
    method: str, asked: Conditions, tag: ETag, modified: int | None
) -> None:
    current = ETag(tag.opaque)
    conditions = Conditions((current,), None, asked.if_modified_since, asked.if_unmodified_since)
    verdict = evaluate(method, conditions, etag=current, last_modified=modified, now=NOW)
    assert verdict in (P, NM)


@given(st.sampled_from(["GET", "HEAD"]), TAG, st.lists(TAG, max_size=3))
def test_a_get_whose_tag_is_listed_weakly_is_not_modified(method: str, current: ETag, others: list[ETag]) -> None:
    listed = (*others, ETag(current.opaque, weak=not current.weak))
    assert evaluate(method, Conditions(if_none_match=listed), etag=current, now=NOW) is NM


# --- Conditions.parse: what a request's headers become --------------------------------------------------------


def getter(**headers: str) -> object:
    lowered = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    return lambda name: lowered.get(name.lower())


def test_parse_reads_the_four_headers() -> None:
    got = Conditions.parse(
        getter(
            If_Match='"v1", W/"v2"',
            If_None_Match="*",
            If_Modified_Since=format_http_date(T0),
            If_Unmodified_Since="Sun, 06 Nov 1994 08:49:37 GMT",
        )  # type: ignore[arg-type]
    )
    assert got == Conditions((V1, ETag("v2", weak=True)), ANY, T0, 784111777)
    assert not got.empty
    assert got.guards_a_change


@pytest.mark.parametrize("bad", ["v1", "", "W/v1", '"v1" "v2"', '"unterminated'])
def test_a_malformed_if_match_is_refused_not_ignored(bad: str) -> None:
    with pytest.raises(MalformedPrecondition):
        Conditions.parse(getter(If_Match=bad))  # type: ignore[arg-type]
    with pytest.raises(BadRequest) as raised:
        conditions_of(getter(If_Match=bad))  # type: ignore[arg-type]
    assert raised.value.code == "MALFORMED_PRECONDITION"
    assert raised.value.status == 400


def test_a_malformed_if_none_match_or_date_reads_as_absent() -> None:
    got = Conditions.parse(
        getter(If_None_Match="v1", If_Modified_Since="yesterday", If_Unmodified_Since="soon")  # type: ignore[arg-type]
    )
    assert got == NONE
    assert got.empty


def test_if_modified_since_is_ignored_when_if_none_match_is_sent_even_malformed() -> None:
    # RFC 9110 §13.1.3: "A recipient MUST ignore If-Modified-Since if the request contains an If-None-Match
    # header field": contains, not "contains a valid one". A client that sent an If-None-Match the server cannot
    # read asked for a tag comparison, and must get the full answer, not a 304 decided by the date.
    got = Conditions.parse(getter(If_None_Match="v1", If_Modified_Since=format_http_date(AFTER)))  # type: ignore[arg-type]
    assert evaluate("GET", got, etag=V1, last_modified=T0, now=NOW) is P


@given(
    st.dictionaries(
        st.sampled_from(["If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"]), st.text(max_size=40)
    )
)
def test_parse_raises_nothing_but_a_malformed_if_match(headers: dict[str, str]) -> None:
    try:
        Conditions.parse(headers.get)
    except MalformedPrecondition:
        assert "If-Match" in headers


# --- check() and Preconditions: the verdicts as answers ----------------------------------------------------------


def test_check_answers_each_verdict() -> None:
    assert check("PUT", c(if_match=(V1,)), etag=V1, last_modified=T0).headers == {
        "ETag": '"v1"',
        "Last-Modified": format_http_date(T0),
    }
    with pytest.raises(NotModified) as nm:
        check("GET", c(if_none_match=(V1,)), etag=V1)
    assert nm.value.headers == {"ETag": '"v1"'}
    with pytest.raises(PreconditionFailed) as failed:
        check("PUT", c(if_match=(V2,)), etag=V1)
    assert failed.value.status == 412
    assert failed.value.code == "PRECONDITION_FAILED"
    assert failed.value.headers == {"ETag": '"v1"'}
    assert failed.value.details == {"etag": '"v1"'}
    with pytest.raises(PreconditionFailed) as untagged:
        check("PUT", c(if_match=ANY), exists=False)
    assert not untagged.value.headers
    assert not untagged.value.details
    with pytest.raises(PreconditionRequired) as required:
        check("PUT", NONE, etag=V1, required=True)
    assert required.value.status == 428
    assert required.value.code == "PRECONDITION_REQUIRED"


def test_preconditions_bind_the_method() -> None:
    p = Preconditions("PATCH", Conditions.parse(getter(If_Match='"v7"')), required=True)  # type: ignore[arg-type]
    assert p.expected_version == "7"
    p.require()
    assert p.check(etag=ETag.for_version(7)).headers == {"ETag": '"v7"'}
    with pytest.raises(PreconditionFailed):
        p.check(etag=ETag.for_version(8))
    with pytest.raises(PreconditionRequired):
        Preconditions("PATCH", NONE, required=True).require()
    Preconditions("GET", NONE, required=True).require()  # a read: nothing to require
    Preconditions("PUT", NONE).require()  # not required
    assert Preconditions("PUT", c(if_match=ANY)).expected_version is None


def test_a_304_keeps_everything_but_representation_metadata() -> None:
    headers = [
        ("Content-Type", "application/json"),
        ("content-length", "12"),
        ("Content-Encoding", "gzip"),
        ("ETag", '"v1"'),
        ("Cache-Control", "no-cache"),
        ("Vary", "Accept"),
        ("Vary", "Origin"),
        ("Last-Modified", format_http_date(T0)),
        ("Date", format_http_date(NOW)),
        ("X-Request-ID", "abc"),
    ]
    kept = not_modified_headers(headers)
    assert kept == [h for h in headers if h[0].lower() not in NOT_MODIFIED_DROPS]
    assert [name for name, _ in kept] == [
        "ETag",
        "Cache-Control",
        "Vary",
        "Vary",
        "Last-Modified",
        "Date",
        "X-Request-ID",
    ]


@pytest.mark.parametrize(
    ("sent", "last_modified", "verdict"),
    [
        (Conditions(), None, Verdict.REQUIRED),
        (Conditions(if_none_match=(ETag("v0"),)), None, Verdict.REQUIRED),  # "unless v0": any other is overwritten
        (Conditions(if_unmodified_since=T0), None, Verdict.REQUIRED),  # no date to compare it with
        (Conditions(if_unmodified_since=T0), T0, Verdict.PROCEED),
        (Conditions(if_unmodified_since=T0), T0 + 1, Verdict.FAILED),
        (Conditions(if_none_match=ANY), None, Verdict.FAILED),  # create-only, and it exists
        (Conditions(if_match=ANY), None, Verdict.PROCEED),
        (Conditions(if_match=(ETag("v1"),)), None, Verdict.PROCEED),
    ],
)
def test_a_required_precondition_is_one_that_can_refuse_a_lost_update(
    sent: Conditions, last_modified: int | None, verdict: Verdict
) -> None:
    found = evaluate("PUT", sent, etag=ETag("v1"), last_modified=last_modified, required=True)
    assert found is verdict
    early = Preconditions("PUT", sent, required=True)
    if sent.if_match is None and sent.if_unmodified_since is None and sent.if_none_match != ANY:
        with pytest.raises(PreconditionRequired):
            early.require()  # refused before the resource is read
    else:
        early.require()
