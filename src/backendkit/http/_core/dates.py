"""HTTP dates (RFC 9110 §5.6.7): whole seconds since the epoch, read in three formats, written in one.

A recipient must read IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), the obsolete
RFC 850 form (``Sunday, 06-Nov-94 08:49:37 GMT``) and asctime (``Sun Nov  6 08:49:37 1994``);
a sender writes IMF-fixdate only. A value out of the grammar, or naming a day that does
not exist, reads as None: the callers then ignore the header, as RFC 9110 §13.1.3-4 asks.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime, timezone

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "|".join(_MONTHS)
_TIME = r"(\d\d):(\d\d):(\d\d)"
# re.ASCII: the grammar's DIGIT is %x30-39, where a str pattern's \d is any Unicode digit (int() reads them all).
_IMF = re.compile(rf"(?:{'|'.join(_DAYS)}), (\d\d) ({_MONTH}) (\d{{4}}) {_TIME} GMT", re.ASCII)
_RFC850 = re.compile(rf"(?:{'|'.join(_LONG_DAYS)}), (\d\d)-({_MONTH})-(\d\d) {_TIME} GMT", re.ASCII)
_ASCTIME = re.compile(rf"(?:{'|'.join(_DAYS)}) ({_MONTH}) ([ \d]\d) {_TIME} (\d{{4}})", re.ASCII)

RFC850_PIVOT = 70
"""A two-digit RFC 850 year below this is 20xx, else 19xx (a fixed rule, so the answer needs no clock)."""


def parse_http_date(value: str) -> int | None:
    """Seconds since the epoch of an HTTP-date, or None if it is not one.

    Example:
        >>> parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT")
        784111777
        >>> parse_http_date("Sun Nov  6 08:49:37 1994"), parse_http_date("yesterday")
        (784111777, None)
    """
    text = value.strip(" \t")
    if (m := _IMF.fullmatch(text)) is not None:
        day, month, year, hh, mm, ss = m.groups()
    elif (m := _RFC850.fullmatch(text)) is not None:
        day, month, short, hh, mm, ss = m.groups()
        year = str((2000 if int(short) < RFC850_PIVOT else 1900) + int(short))
    elif (m := _ASCTIME.fullmatch(text)) is not None:
        month, day, hh, mm, ss, year = m.groups()
    else:
        return None
    try:  # datetime refuses 31 Feb, hour 24, second 61 (a leap second reads as not a date)
        moment = datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss), tzinfo=timezone.utc)
    except ValueError:
        return None
    return calendar.timegm(moment.utctimetuple())


def format_http_date(seconds: float) -> str:
    """IMF-fixdate of a moment (fractions of a second dropped).

    Example:
        >>> format_http_date(784111777.9)
        'Sun, 06 Nov 1994 08:49:37 GMT'
    """
    t = time.gmtime(int(seconds))
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} {clock} GMT"


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime; a naive one is refused (whose clock is it?)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a moment needs a time zone: {moment.isoformat()} has none")
    return calendar.timegm(moment.astimezone(timezone.utc).utctimetuple())
