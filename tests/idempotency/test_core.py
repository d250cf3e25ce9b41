"""The pure parts: the key parser (both syntaxes), fingerprints, records and which answers are kept."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import ConfigurationError
from backendkit.idempotency import (
    Idempotency,
    IdempotencyKeyInUse,
    IdempotencyKeyInvalid,
    IdempotencyKeyMismatch,
    StoredResponse,
    decode_record,
    fingerprint,
    form_body,
    kept_headers,
    media_type,
    parse_key,
    record_value,
    storable,
)
from backendkit.idempotency._core.policy import found
from backendkit.idempotency._core.record import lock_value

SAFE = string.ascii_letters + string.digits + "-_.~:+/="
keys = st.text(alphabet=SAFE, min_size=1, max_size=255)


@given(keys)
def test_a_key_reads_the_same_bare_and_quoted(key: str) -> None:
    assert parse_key([key]) == key
    assert parse_key([f'"{key}"']) == key
    assert parse_key([f' \t"{key}" ']) == key


def test_no_header_is_no_key() -> None:
    assert parse_key([]) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        '""',
        '"',
        "a" * 256,
        '"' + "a" * 256 + '"',
        "two keys",
        "a,b",
        '"a";p=1',
        '"a\\"b"',
        '"a\\\\b"',
        "caf\u00e9",
        "a\x00b",
        "a\nb",
        "'a'",
        '"a',
        'a"',
        '""a""',
    ],
)
def test_garbage_is_a_400(value: str) -> None:
    with pytest.raises(IdempotencyKeyInvalid) as refused:
        parse_key([value])
    assert (refused.value.status, refused.value.code) == (400, "IDEMPOTENCY_KEY_INVALID")


def test_two_fields_are_a_400() -> None:
    with pytest.raises(IdempotencyKeyInvalid):
        parse_key(["a", "a"])


@given(st.lists(st.text(max_size=300), min_size=1, max_size=3))
def test_any_value_is_a_key_or_a_400(values: list[str]) -> None:
    try:
        key = parse_key(values)
    except IdempotencyKeyInvalid:
        return
    assert key is not None
    assert 1 <= len(key) <= 255
    assert set(key) <= set(SAFE)


requests = st.tuples(
    st.sampled_from(["POST", "PATCH", "PUT", "DELETE"]),
    st.text(min_size=1, max_size=30).map(lambda p: "/" + p),
    st.text(max_size=30),
    st.sampled_from([None, "application/json", "application/x-www-form-urlencoded", "text/plain; charset=utf-8"]),
    st.binary(max_size=100),
)


@given(requests)
def test_equal_requests_have_equal_fingerprints(request: tuple) -> None:  # type: ignore[type-arg]
    assert fingerprint(*request) == fingerprint(*request)
    assert len(fingerprint(*request)) == 64


@given(requests, st.integers(0, 4), st.data())
def test_any_change_changes_the_fingerprint(request: tuple, which: int, data: st.DataObject) -> None:  # type: ignore[type-arg]
    changed = list(request)
    if which == 0:
        changed[0] = data.draw(st.sampled_from([m for m in ("POST", "PATCH", "PUT", "DELETE") if m != request[0]]))
    elif which == 4:
        changed[4] = data.draw(st.binary(max_size=100).filter(lambda b: b != request[4]))
    elif which == 3:
        options = [None, "application/json", "text/plain", "application/json; charset=latin-1"]
        changed[3] = data.draw(st.sampled_from([o for o in options if media_type(o) != media_type(request[3])]))
    else:
        changed[which] = data.draw(st.text(max_size=30).filter(lambda t: t != request[which]))
        if which == 1:
            changed[1] = "/" + changed[1] if not changed[1].startswith("/") else changed[1]
            if changed[1] == request[1]:
                return
    assert fingerprint(*changed) != fingerprint(*request)


def test_fields_cannot_run_into_each_other() -> None:
    assert fingerprint("POST", "/a", "b", None, b"") != fingerprint("POST", "/ab", "", None, b"")
    assert fingerprint("POST", "/a", "", "x", b"y") != fingerprint("POST", "/a", "", "xy", b"")


def test_equal_media_types_are_one_fingerprint() -> None:
    a = fingerprint("POST", "/p", "", "application/json; charset=utf-8", b"{}")
    assert a == fingerprint("post", "/p", "", "Application/JSON;charset=UTF-8", b"{}")
    assert a != fingerprint("POST", "/p", "", "application/json; charset=latin-1", b"{}")


headers = st.lists(  # (header values are latin-1, as ASGI and WSGI carry them)
    st.tuples(
        st.text(alphabet=string.ascii_letters + "-", min_size=1, max_size=20),
        st.text(alphabet=st.characters(max_codepoint=255), max_size=40),
    ),
    max_size=6,
)


@given(st.integers(100, 599), headers, st.binary(max_size=300))
def test_records_round_trip(status: int, pairs: list[tuple[str, str]], body: bytes) -> None:
    response = StoredResponse(status, tuple(pairs), body)
    value = record_value("f" * 64, response)
    assert decode_record(value) == response


@given(st.binary(max_size=200))
def test_a_corrupt_record_is_a_value_error_or_a_response(value: bytes) -> None:
    try:
        response = decode_record(value)
    except ValueError:  # (nothing else: an IndexError or a TypeError here would be a 500 on a replay)
        return
    assert isinstance(response, StoredResponse)
    assert response.body == value[value.index(b"\n") + 1 :]


def test_per_request_and_hop_by_hop_headers_are_not_kept() -> None:
    sent = [
        ("Content-Type", "application/json"),
        ("Location", "/tasks/1"),
        ("Content-Length", "9"),
        ("Connection", "keep-alive"),
        ("Transfer-Encoding", "chunked"),
        ("Date", "Tue, 01 Dec 2026 09:00:00 GMT"),
        ("X-Request-ID", "abc"),
        ("RateLimit", '"default";r=4;t=60'),
        ("RateLimit-Policy", '"default";q=5;w=60'),
        ("Set-Cookie", "session=1"),
        ("ETag", '"v1"'),
    ]
    assert kept_headers(sent) == (("Content-Type", "application/json"), ("Location", "/tasks/1"), ("ETag", '"v1"'))
    assert ("Set-Cookie", "session=1") in kept_headers(sent, keep_set_cookie=True)


@pytest.mark.parametrize(
    ("status", "size", "kept"),
    [
        (200, 10, True),
        (201, 0, True),
        (303, 0, True),
        (404, 10, True),
        (409, 10, True),
        (400, 10, False),
        (422, 10, False),
        (429, 10, False),
        (401, 10, False),
        (500, 10, False),
        (503, 10, False),
        (201, None, False),
        (201, 1025, False),
        (201, 1024, True),
    ],
)
def test_which_answers_are_kept(status: int, size: int | None, kept: bool) -> None:
    assert storable(status, size, max_size=1024) is kept


def test_server_errors_kept_when_asked() -> None:
    assert storable(500, 10, max_size=1024, store_server_errors=True)


def test_what_a_store_answer_means() -> None:
    mine = "a" * 64
    other = "b" * 64
    assert found(None, mine) is None
    with pytest.raises(IdempotencyKeyInUse) as busy:
        found(lock_value(mine, "0" * 32), mine)
    assert (busy.value.status, busy.value.code, busy.value.headers) == (
        409,
        "IDEMPOTENCY_KEY_IN_USE",
        {"Retry-After": "1"},
    )
    with pytest.raises(IdempotencyKeyMismatch) as mismatch:
        found(lock_value(other, "0" * 32), mine)
    assert (mismatch.value.status, mismatch.value.code) == (422, "IDEMPOTENCY_KEY_MISMATCH")
    response = StoredResponse(201, (("Content-Type", "application/json"),), b'{"id":1}')
    assert found(record_value(mine, response), mine) == response
    with pytest.raises(IdempotencyKeyMismatch):
        found(record_value(other, response), mine)


@pytest.mark.parametrize(
    "value",
    [
        b"R" + b"f" * 64 + b"201[]",  # no newline
        b"R" + b"f" * 64 + b"999[]\n",  # no such status
        b"R" + b"f" * 64 + b"2x1[]\n",
        b"R" + b"f" * 64 + b'201[["a"]]\n',
        b"R" + b"f" * 64 + b'201[["a","\\u0100"]]\n',  # not latin-1: no response can carry it
        b"R\xff" + b"f" * 63 + b"201[]\n",
        b"X" + b"f" * 64,
        b"",
    ],
)
def test_values_that_are_not_ours_are_a_value_error(value: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (any ValueError: Idempotency catches them all)
        found(value, "f" * 64)


@given(
    st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=5),
    st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8), st.binary(max_size=50)), max_size=3),
    st.randoms(),
)
def test_a_form_reads_the_same_in_any_order_and_streamed_in_any_chunks(
    fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]], random: Any
) -> None:
    def chunked(data: bytes) -> list[bytes]:
        cut = random.randint(0, len(data))
        return [data[:cut], data[cut:]]

    shuffled_fields, shuffled_files = fields[:], files[:]
    random.shuffle(shuffled_fields)
    random.shuffle(shuffled_files)
    as_sent = form_body(fields, [(n, f, [data]) for n, f, data in files])
    reordered = form_body(shuffled_fields, [(n, f, chunked(data)) for n, f, data in shuffled_files])
    if len({(n, f) for n, f, _ in files}) == len(files):  # (two files of one name and file name: sent order counts)
        assert as_sent == reordered


def test_any_change_of_a_form_changes_what_stands_for_it() -> None:
    base = form_body([("amount", "5")], [("doc", "a.txt", [b"first"])])
    assert base.startswith(b"form:")
    assert base != form_body([("amount", "5000")], [("doc", "a.txt", [b"first"])])
    assert base != form_body([("amount", "5")], [("doc", "a.txt", [b"second"])])
    assert base != form_body([("amount", "5")], [("doc", "b.txt", [b"first"])])
    assert base != form_body([("amount", "5")], [])
    assert form_body([("a", "bc")], []) != form_body([("ab", "c")], [])


@pytest.mark.parametrize(
    ("name", "home"),
    [
        ("RedisStore", "backendkit.idempotency.redis"),
        ("AsyncRedisStore", "backendkit.idempotency.redis"),
        ("MemoryStore", "backendkit.idempotency"),
    ],
)
def test_a_rate_limit_store_is_refused_with_both_import_paths(name: str, home: str) -> None:
    # The rate limits' stores have the same names; the error said only "<...> is not an idempotency store".
    import importlib

    from backendkit import ratelimit

    kind = getattr(ratelimit, name)
    given = kind() if name == "MemoryStore" else kind("redis://127.0.0.1:1/0")  # (never connected)
    with pytest.raises(ConfigurationError) as refused:
        Idempotency(given)
    assert str(refused.value) == (
        f"backendkit.ratelimit.{name} is a rate-limit store; idempotency keys need {home}.{name}, "
        f"which shares its name: from {home} import {name}"
    )
    needed = getattr(importlib.import_module(home), name)  # the path named is the store that works
    Idempotency(needed() if name == "MemoryStore" else needed("redis://127.0.0.1:1/0"))


def test_anything_else_is_refused_with_the_stores_to_use() -> None:
    with pytest.raises(ConfigurationError, match=r"is not an idempotency store; use backendkit\.idempotency\."):
        Idempotency(object())
