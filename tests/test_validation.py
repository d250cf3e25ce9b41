from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from backendkit.errors import MalformedJSON, UnsupportedMediaType, ValidationFailed
from backendkit.validation import is_json_media_type, parse_json, parse_model, validate

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


class Task(BaseModel):
    title: str
    priority: int = 3


@given(JSON)
def test_any_json_round_trips(value: Any) -> None:
    assert parse_json(json.dumps(value).encode()) == value


@given(st.binary(max_size=64))
def test_any_bytes_parse_or_raise_a_defined_error(body: bytes) -> None:
    try:
        expected = json.loads(body)
    except (ValueError, RecursionError):
        with pytest.raises((MalformedJSON, ValidationFailed)):
            parse_json(body)
    else:
        assert repr(parse_json(body)) == repr(expected)  # repr: NaN is not equal to itself


@pytest.mark.parametrize("body", [b"", ""])
def test_empty_body_is_missing(body: bytes | str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_json(body)
    assert info.value.details == [{"field": "", "pointer": "", "code": "missing", "message": "Field required"}]


@pytest.mark.parametrize("body", [b"{", b"[" * 50_000, b"\xff", b"{'a': 1}", "nul\0", b"   ", "\n\t"])
def test_undecodable_is_malformed(body: bytes | str) -> None:
    with pytest.raises(MalformedJSON):
        parse_json(body)


def test_parse_model() -> None:
    assert parse_model(Task, b'{"title": "a"}') == Task(title="a")
    with pytest.raises(ValidationFailed) as info:
        parse_model(Task, b'{"priority": "high"}')
    assert [d["code"] for d in info.value.details] == ["missing", "int_parsing"]


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/problem+json", True),
        ("application/vnd.api+json", True),
        (None, False),
        ("", False),
        ("text/plain", False),
        ("application/jsonx", False),
        ("text/json", False),
        ("multipart/form-data; boundary=x", False),
    ],
)
def test_content_type(content_type: str | None, ok: bool) -> None:
    assert is_json_media_type(content_type) is ok
    if ok:
        assert parse_model(Task, b'{"title": "a"}', content_type) == Task(title="a")
    else:
        with pytest.raises(UnsupportedMediaType):
            parse_model(Task, b'{"title": "a"}', content_type)
        with pytest.raises(ValidationFailed):  # an empty body is missing, whatever its type
            parse_model(Task, b"", content_type)


@pytest.mark.parametrize("body", [b"null", b"[]", b"3", b'"x"'])
def test_non_object_bodies_get_fastapis_code(body: bytes) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_model(Task, body)
    assert [(d["field"], d["code"]) for d in info.value.details] == [("", "model_attributes_type")]


def test_validate_hides_the_pydantic_chain() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate(Task, {})
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
