"""Deprecation and Sunset: the headers a deprecated route or version sends, and when it is gone."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import Gone
from backendkit.http import Deprecation, epoch_seconds, gone, merge_link, parse_http_date

UTC = timezone.utc
MOMENTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC))
URIS = st.from_regex(r"https://[a-z]{1,10}\.example/[A-Za-z0-9/_.~%-]{0,30}", fullmatch=True)


@given(MOMENTS, st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
def test_the_headers_are_the_rfcs_forms(deprecated: datetime, after: timedelta | None) -> None:
    sunset = None if after is None else deprecated + after
    d = Deprecation(deprecated, sunset=sunset)
    names = [name for name, _ in d.headers]
    assert names == (["Deprecation"] if sunset is None else ["Deprecation", "Sunset"])
    # RFC 9745: an sf-date, "@" and the integer seconds since the epoch.
    assert d.headers[0][1] == f"@{epoch_seconds(deprecated)}"
    if sunset is not None:  # RFC 8594: an HTTP-date
        assert parse_http_date(d.headers[1][1]) == epoch_seconds(sunset)
        assert d.sunset_at == epoch_seconds(sunset)
    assert d.links is None
    assert d.all_headers() == list(d.headers)


@given(MOMENTS, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)), st.integers(-(10**6), 10**6))
def test_gone_from_the_sunset_on_and_only_when_asked(deprecated: datetime, after: timedelta, offset: int) -> None:
    sunset = deprecated + after
    retiring = Deprecation(deprecated, sunset=sunset, gone_after_sunset=True)
    kept = Deprecation(deprecated, sunset=sunset)
    now = epoch_seconds(sunset) + offset
    assert retiring.is_gone(now) == (offset >= 0)
    assert not kept.is_gone(now)
    assert not Deprecation(deprecated).is_gone(now)


def test_the_410_carries_the_headers_and_merges_the_response_s_link() -> None:
    d = Deprecation(
        datetime(2026, 6, 1, tzinfo=UTC),
        sunset=datetime(2027, 6, 1, tzinfo=UTC),
        link="https://tasks.example.com/docs/migrate-to-v2",
        sunset_link="https://tasks.example.com/policy",
        gone_after_sunset=True,
    )
    error = gone(d, link='</tasks?page=2>; rel="next"')
    assert isinstance(error, Gone)
    assert error.status == 410
    assert error.code == "GONE"
    assert error.message == "This endpoint was retired on Tue, 01 Jun 2027 00:00:00 GMT."
    assert error.headers == {
        "Deprecation": "@1780272000",
        "Sunset": "Tue, 01 Jun 2027 00:00:00 GMT",
        "Link": '</tasks?page=2>; rel="next", '
        '<https://tasks.example.com/docs/migrate-to-v2>; rel="deprecation"; type="text/html", '
        '<https://tasks.example.com/policy>; rel="sunset"; type="text/html"',
    }


@given(URIS, st.none() | URIS)
def test_links_name_their_relation(link: str, sunset_link: str | None) -> None:
    d = Deprecation(datetime(2026, 1, 1, tzinfo=UTC), link=link, sunset_link=sunset_link)
    expected = f'<{link}>; rel="deprecation"; type="text/html"'
    if sunset_link is not None:
        expected += f', <{sunset_link}>; rel="sunset"; type="text/html"'
    assert d.links == expected
    assert d.all_headers()[-1] == ("Link", expected)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "https://x.example/a b",
        "https://x.example/<a>",
        'https://x.example/"',
        "https://x.example/\u00e9",
        "a\r\nSet-Cookie: x=1",
    ],
)
def test_a_link_that_would_break_the_header_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="link target"):
        Deprecation(datetime(2026, 1, 1, tzinfo=UTC), link=bad)
    with pytest.raises(ValueError, match="link target"):
        Deprecation(datetime(2026, 1, 1, tzinfo=UTC), sunset_link=bad)


def test_what_a_deprecation_refuses() -> None:
    with pytest.raises(ValueError, match="before the deprecation"):
        Deprecation(datetime(2026, 1, 2, tzinfo=UTC), sunset=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="needs a sunset"):
        Deprecation(datetime(2026, 1, 1, tzinfo=UTC), gone_after_sunset=True)
    with pytest.raises(ValueError, match="time zone"):
        Deprecation(datetime(2026, 1, 1))


def test_a_deprecation_is_a_value() -> None:
    a = Deprecation(datetime(2026, 1, 1, tzinfo=UTC), link="https://x.example/")
    b = Deprecation(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), link="https://x.example/")
    assert a.headers == b.headers  # the same moment written in another zone
    assert hash(a) == hash(dataclasses.replace(a))
    later = dataclasses.replace(a, sunset=datetime(2026, 2, 1, tzinfo=UTC))
    assert later.headers[1] == ("Sunset", "Sun, 01 Feb 2026 00:00:00 GMT")  # derived again
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.link = "https://y.example/"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("existing", "addition", "merged"),
    [(None, "<a>", "<a>"), ("", "<a>", "<a>"), ("<b>", "<a>", "<b>, <a>")],
)
def test_merge_link(existing: str | None, addition: str, merged: str) -> None:
    assert merge_link(existing, addition) == merged
