"""HTTP dates: the three formats a recipient reads, the one a sender writes, and what is not a date."""

from __future__ import annotations

import calendar
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.http import epoch_seconds, format_http_date, parse_http_date
from backendkit.http._core.dates import RFC850_PIVOT

FIRST = calendar.timegm((1, 1, 1, 0, 0, 0))  # 0001-01-01T00:00:00Z
LAST = calendar.timegm((9999, 12, 31, 23, 59, 59))
MOMENTS = st.integers(min_value=FIRST, max_value=LAST)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc850(seconds: int) -> str:
    t = time.gmtime(seconds)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{_LONG[t.tm_wday]}, {t.tm_mday:02d}-{_MONTHS[t.tm_mon - 1]}-{t.tm_year % 100:02d} {clock} GMT"


def asctime(seconds: int) -> str:
    t = time.gmtime(seconds)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {clock} {t.tm_year:04d}"


@given(MOMENTS)
def test_imf_fixdate_round_trips(seconds: int) -> None:
    text = format_http_date(seconds)
    assert len(text) == 29
    assert text.endswith(" GMT")
    assert parse_http_date(text) == seconds


@given(MOMENTS, st.floats(min_value=0, max_value=0.999))
def test_fractions_of_a_second_are_dropped(seconds: int, fraction: float) -> None:
    if seconds >= 0:  # (int() truncates toward zero: before 1970 a fraction would round up)
        assert format_http_date(seconds + fraction) == format_http_date(seconds)


@given(MOMENTS)
def test_asctime_reads_as_the_same_moment(seconds: int) -> None:
    assert parse_http_date(asctime(seconds)) == seconds


@given(
    st.integers(min_value=calendar.timegm((1970, 1, 1, 0, 0, 0)), max_value=calendar.timegm((2069, 12, 31, 23, 59, 59)))
)
def test_rfc_850_reads_as_the_same_moment_within_its_century(seconds: int) -> None:
    assert parse_http_date(rfc850(seconds)) == seconds


@pytest.mark.parametrize(
    ("short", "year"),
    [
        ("00", 2000),
        (f"{RFC850_PIVOT - 1:02d}", 1999 + RFC850_PIVOT),
        (f"{RFC850_PIVOT}", 1900 + RFC850_PIVOT),
        ("99", 1999),
    ],
)
def test_rfc_850_two_digit_years_pivot(short: str, year: int) -> None:
    parsed = parse_http_date(f"Monday, 01-Jan-{short} 00:00:00 GMT")
    assert parsed == calendar.timegm((year, 1, 1, 0, 0, 0))


def test_rfc_9110_s_three_examples_are_one_moment() -> None:
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777
    assert parse_http_date(" \tSun, 06 Nov 1994 08:49:37 GMT\t ") == 784111777  # OWS around a field value


@pytest.mark.parametrize(
    "value",
    [
        "Sat, 31 Feb 2026 00:00:00 GMT",  # no such day
        "Thu, 29 Feb 2029 00:00:00 GMT",  # not a leap year
        "Tue, 31 Apr 2026 00:00:00 GMT",
        "Mon, 00 Jan 2026 00:00:00 GMT",
        "Tue, 30 Jun 2026 24:00:00 GMT",  # hour 24
        "Tue, 30 Jun 2026 23:60:00 GMT",
        "Tue, 30 Jun 2026 23:59:60 GMT",  # a leap second is not a moment POSIX time has
        "Wed, 01 Jan 0000 00:00:00 GMT",  # no year 0
        "Sunday, 31-Feb-26 00:00:00 GMT",
        "Sun Feb 31 00:00:00 2026",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "sun, 06 nov 1994 08:49:37 gmt",  # day and month names are case-sensitive
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",  # two members: not one date
        "784111777",
        "",
        "yesterday",
    ],
)
def test_what_is_not_an_http_date_reads_as_none(value: str) -> None:
    assert parse_http_date(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "Sun, \u0660\u0666 Nov 1994 08:49:37 GMT",  # Arabic-Indic digits: not DIGIT (%x30-39)
        "Sun, 06 Nov \uff11\uff19\uff19\uff14 08:49:37 GMT",  # fullwidth digits
        "Sun, 06 Nov 1994 \u0660\u0668:49:37 GMT",
        "Sunday, 06-Nov-\u0669\u0664 08:49:37 GMT",
        "Sun Nov  \u0666 08:49:37 1994",
    ],
)
def test_only_ascii_digits_are_digits(value: str) -> None:
    # RFC 9110 §5.6.7's grammar is DIGIT (RFC 5234: %x30-39); Python's \d matches every Unicode digit.
    assert parse_http_date(value) is None


@given(st.text(max_size=60))
def test_parse_http_date_never_raises(text: str) -> None:
    parsed = parse_http_date(text)
    assert parsed is None or FIRST <= parsed <= LAST


@given(st.datetimes(timezones=st.timezones(), min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)))
def test_epoch_seconds_of_an_aware_moment_is_its_utc_second(moment: datetime) -> None:
    seconds = epoch_seconds(moment)
    utc = moment.astimezone(timezone.utc).replace(microsecond=0, tzinfo=None)
    assert datetime(1970, 1, 1) + timedelta(seconds=seconds) == utc


def test_epoch_seconds_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="time zone"):
        epoch_seconds(datetime(2026, 1, 1))
