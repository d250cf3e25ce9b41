"""Cursors: round trips of every value type, and a corpus of bad cursors that all end in INVALID_CURSOR."""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.errors import ConfigurationError
from backendkit.pagination import CursorCodec, InvalidCursor, Position

KEY = "first-secret-0123456789"
OLD = "older-secret-0123456789"
ORDER = "-priority,id"
FILTERS = '[["q","x"]]'

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.datetimes(timezones=st.none() | st.just(timezone.utc)),
    st.dates(),
    st.times(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.uuids(),
    st.binary(max_size=20),
)


@settings(max_examples=300)
@given(row=st.lists(values, min_size=1, max_size=5), backward=st.booleans())
def test_every_value_type_survives_a_round_trip(row: list[Any], backward: bool) -> None:
    codec = CursorCodec([KEY], max_length=1 << 20)
    token = codec.encode(Position(tuple(row), backward), ordering=ORDER, filters=FILTERS, now=0.0)
    decoded = codec.decode(token, ordering=ORDER, filters=FILTERS, now=0.0)
    assert decoded == Position(tuple(row), backward)
    assert [type(v) for v in decoded.values] == [type(v) for v in row]


@settings(max_examples=200)
@given(row=st.lists(values | st.text(min_size=200, max_size=600), min_size=1, max_size=5))
def test_the_codec_never_hands_out_a_cursor_it_would_refuse(row: list[Any]) -> None:
    # A position with long text (a title sort key) once made a cursor over max_length, which
    # decode() refused: the next page could never be fetched.
    codec = CursorCodec([KEY], max_length=1024)
    position = Position(tuple(row))
    needed = len(CursorCodec([KEY], max_length=1 << 20).encode(position, ordering=ORDER, filters=FILTERS, now=0.0))
    if needed > 1024:
        with pytest.raises(ConfigurationError, match=r"max_length \(1024\)"):
            codec.encode(position, ordering=ORDER, filters=FILTERS, now=0.0)
        return
    token = codec.encode(position, ordering=ORDER, filters=FILTERS, now=0.0)
    assert codec.decode(token, ordering=ORDER, filters=FILTERS, now=0.0) == position


def test_non_ascii_sort_values_take_their_utf_8_size() -> None:
    # 255 CJK characters (a VARCHAR(255) title): 6 bytes each as \u escapes (a 2,111-character
    # cursor, over the default 2048), 3 as UTF-8.
    title = "\u6f22" * 255
    token = CursorCodec([KEY]).encode(Position((title, 7)), ordering=ORDER, filters=FILTERS, now=0.0)
    assert len(token) < 1200
    assert CursorCodec([KEY]).decode(token, ordering=ORDER, filters=FILTERS, now=0.0) == Position((title, 7))


def test_a_lone_surrogate_still_round_trips() -> None:
    codec = CursorCodec([KEY])
    token = codec.encode(Position(("a\ud800b",)), ordering=ORDER, filters=FILTERS, now=0.0)
    assert codec.decode(token, ordering=ORDER, filters=FILTERS, now=0.0) == Position(("a\ud800b",))


def test_tokens_are_url_safe_and_deterministic_without_expiry() -> None:
    codec = CursorCodec([KEY])
    first = codec.encode(Position((3, 17)), ordering=ORDER, filters="", now=0.0)
    assert first == codec.encode(Position((3, 17)), ordering=ORDER, filters="", now=999.0)
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_rotation_the_first_key_signs_every_key_verifies() -> None:
    old_token = CursorCodec([OLD]).encode(Position((1,)), ordering="id", filters="", now=0.0)
    rotated = CursorCodec([KEY, OLD])
    assert rotated.decode(old_token, ordering="id", filters="", now=0.0) == Position((1,))
    new_token = rotated.encode(Position((1,)), ordering="id", filters="", now=0.0)
    assert CursorCodec([KEY]).decode(new_token, ordering="id", filters="", now=0.0) == Position((1,))
    with pytest.raises(InvalidCursor):
        CursorCodec([OLD]).decode(new_token, ordering="id", filters="", now=0.0)


def test_an_expired_cursor_is_refused_and_a_fresh_one_accepted() -> None:
    codec = CursorCodec([KEY], max_age=60)
    token = codec.encode(Position((1,)), ordering="id", filters="", now=1000.0)
    assert codec.decode(token, ordering="id", filters="", now=1059.0) == Position((1,))
    assert reason(codec, token, now=1062.0) == "expired"


@pytest.mark.parametrize(
    ("secrets", "message"),
    [([], "needs a secret"), (["short"], "at least 16 bytes"), ([KEY, b"x"], "at least 16 bytes")],
)
def test_a_missing_or_weak_secret_is_a_configuration_error(secrets: list[Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CursorCodec(secrets)


def reason(codec: CursorCodec, token: str, *, ordering: str = ORDER, filters: str = FILTERS, now: float = 0.0) -> str:
    with pytest.raises(InvalidCursor) as caught:
        codec.decode(token, ordering=ordering, filters=filters, now=now)
    assert caught.value.status == 400
    assert caught.value.code == "INVALID_CURSOR"
    return str(caught.value.details["reason"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bad_cursors() -> list[tuple[str, str, str]]:
    """(name, token, expected reason): every way a cursor can be wrong that we know of."""
    codec = CursorCodec([KEY])
    good = codec.encode(Position((3, 17)), ordering=ORDER, filters=FILTERS, now=0.0)
    head, tail = good.split(".")
    payload = base64.urlsafe_b64decode(head + "==")
    forged = json.loads(payload)
    forged[2] = [5, 1]
    flipped = bytearray(payload)
    flipped[len(flipped) // 2] ^= 0x01
    other_key = CursorCodec([OLD]).encode(Position((3, 17)), ordering=ORDER, filters=FILTERS, now=0)
    other_namespace = codec.with_namespace("users").encode(Position((3, 17)), ordering=ORDER, filters=FILTERS, now=0)
    other_sort = codec.encode(Position((3, 17)), ordering="priority,id", filters=FILTERS, now=0)
    other_filters = codec.encode(Position((3, 17)), ordering=ORDER, filters="[]", now=0)
    expired = CursorCodec([KEY], max_age=1).encode(Position((3, 17)), ordering=ORDER, filters=FILTERS, now=-10)
    return [
        ("empty", "", "malformed"),
        ("no dot", head, "malformed"),
        ("two parts empty", ".", "malformed"),
        ("truncated", good[:-3], "malformed"),
        ("truncated payload", good[5:], "signature"),
        ("padded", head + "==." + tail, "malformed"),
        ("not base64", "!!!!." + tail, "malformed"),
        ("bit flipped", _b64(bytes(flipped)) + "." + tail, "signature"),
        ("tag flipped", head + "." + tail[:-2] + ("A" if tail[-2] != "A" else "B") + tail[-1], "signature"),
        ("re-encoded payload", _b64(json.dumps(forged).encode()) + "." + tail, "signature"),
        ("other key", other_key, "signature"),
        ("other namespace", other_namespace, "signature"),
        ("other sort", other_sort, "sort_mismatch"),
        ("other filters", other_filters, "filter_mismatch"),
        ("expired", expired, "expired"),
        ("enormous", "A" * 100_000 + "." + tail, "too_long"),
        ("unicode", "é" * 10 + "." + tail, "malformed"),
        ("nul bytes", "\x00" * 8 + "." + tail, "malformed"),
    ]


@pytest.mark.parametrize(("name", "token", "expected"), bad_cursors(), ids=[c[0] for c in bad_cursors()])
def test_a_bad_cursor_is_invalid_cursor_with_its_reason(name: str, token: str, expected: str) -> None:
    assert reason(CursorCodec([KEY]), token) == expected


def _signed(body: Any) -> str:
    """A payload of our own making, correctly signed: what a leaked key could produce."""
    payload = json.dumps(body).encode()
    tag = hmac.digest(KEY.encode(), b"backendkit.cursor.v1\x00\x00" + payload, "sha256")[:16]
    return _b64(payload) + "." + _b64(tag)


@pytest.mark.parametrize(
    "body",
    [
        [2, 0, [1], "", "", 0],
        [1, 0, [1], "", ""],
        {"v": 1},
        [1, 2, [1], "", "", 0],
        [1, 0, "1", "", "", 0],
        [1, 0, [1], "", "", "never"],
        [1, 0, [["dt", "yesterday"]], "", "", 0],
        [1, 0, [["nope", "1"]], "", "", 0],
        [1, 0, [{"a": 1}], "", "", 0],
    ],
)
def test_a_signed_but_ill_formed_payload_is_still_invalid_cursor(body: Any) -> None:
    codec = CursorCodec([KEY])
    with pytest.raises(InvalidCursor):
        codec.decode(_signed(body), ordering="", filters="", now=0.0)


@settings(max_examples=500)
@given(token=st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_but_invalid_cursor(token: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec([KEY]).decode(token, ordering=ORDER, filters=FILTERS, now=0.0)


def test_a_timezone_aware_datetime_keeps_its_offset() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    codec = CursorCodec([KEY])
    row = (moment, date(2026, 1, 2), time(1, 2), Decimal("1.10"), uuid.UUID(int=5))
    token = codec.encode(Position(row), ordering="x", filters="", now=0.0)
    assert codec.decode(token, ordering="x", filters="", now=0.0).values == row


@settings(max_examples=200)
@given(
    secret=st.binary(min_size=16, max_size=200), namespace=st.text(max_size=10), row=st.lists(st.integers(), max_size=3)
)
def test_the_tag_is_hmac_sha256_of_label_namespace_and_payload(secret: bytes, namespace: str, row: list[int]) -> None:
    token = CursorCodec([secret], namespace=namespace).encode(Position(tuple(row)), ordering="o", filters="", now=0.0)
    head, tail = token.split(".")
    payload = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    message = b"backendkit.cursor.v1\x00" + namespace.encode() + b"\x00" + payload
    assert base64.urlsafe_b64decode(tail + "==") == hmac.digest(secret, message, "sha256")[:16]
