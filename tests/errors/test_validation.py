from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from backendkit.errors import (
    ErrorHandler,
    MalformedJSON,
    UnsupportedMediaType,
    ValidationFailed,
    field_errors_from_pydantic,
    validation_error,
)


class Item(BaseModel):
    name: str = Field(min_length=2)


class Order(BaseModel):
    email: str
    items: list[Item]


def pydantic_errors(data: Any) -> list[dict[str, Any]]:
    try:
        Order.model_validate(data)
    except ValidationError as exc:
        return exc.errors()  # type: ignore[return-value]
    raise AssertionError("expected a validation error")


def test_nested_paths_and_pointers() -> None:
    errors = field_errors_from_pydantic(pydantic_errors({"items": [{"name": "ok"}, {"name": "x"}]}))
    assert [(e.field, e.pointer, e.code) for e in errors] == [
        ("email", "/email", "missing"),
        ("items.1.name", "/items/1/name", "string_too_short"),
    ]


def test_fastapi_locations() -> None:
    errors = field_errors_from_pydantic(
        [
            {"loc": ("query", "limit"), "type": "int_parsing", "msg": "bad", "input": "x"},
            {"loc": ("body", "title"), "type": "missing", "msg": "Field required", "input": {}},
            {"loc": ("header", "x-token"), "type": "missing", "msg": "Field required"},
        ],
        located=True,
    )
    assert [e.as_dict() for e in errors] == [
        {"field": "limit", "location": "query", "code": "int_parsing", "message": "bad"},
        {"field": "title", "pointer": "/title", "code": "missing", "message": "Field required"},
        {"field": "x-token", "location": "header", "code": "missing", "message": "Field required"},
    ]


def test_json_invalid_at_the_body_root_means_malformed_json() -> None:
    err = validation_error([{"loc": ("body", 3), "type": "json_invalid", "msg": "JSON decode error"}], located=True)
    assert isinstance(err, MalformedJSON)


def test_json_invalid_in_a_field_is_a_field_error() -> None:
    errs = [{"loc": ("body", "payload"), "type": "json_invalid", "msg": "Invalid JSON"}]
    err = validation_error(errs, located=True)
    assert isinstance(err, ValidationFailed)
    assert err.details == [
        {"field": "payload", "pointer": "/payload", "code": "json_invalid", "message": "Invalid JSON"}
    ]


def test_undecoded_body_means_unsupported_media_type() -> None:
    errs = [{"loc": ("body",), "type": "model_attributes_type", "msg": "Input should be a valid dictionary"}]
    assert isinstance(validation_error(errs, located=True, body_decoded=False), UnsupportedMediaType)
    assert isinstance(validation_error(errs, located=True), ValidationFailed)


@given(st.text(min_size=1), st.text())
def test_input_and_context_are_never_copied(secret: str, other: str) -> None:
    marker = f"\x00{secret}\x00"
    errs = [{"loc": ("a",), "type": "value_error", "msg": "Value error", "input": marker, "ctx": {"error": marker}}]
    err = validation_error(errs)
    assert isinstance(err, ValidationFailed)
    assert marker not in repr(err.details)
    response = ErrorHandler().render(err)
    assert marker.encode() not in response.body


def test_raw_pydantic_error_maps_to_422_through_the_default_registry() -> None:
    try:
        Order.model_validate({"email": 1, "items": []})
    except ValidationError as exc:
        handled = ErrorHandler().handle(exc)
    assert handled.response.status == 422
    assert not handled.unhandled
    assert handled.error.details == [
        {"field": "email", "pointer": "/email", "code": "string_type", "message": "Input should be a valid string"}
    ]


def test_messages_that_quote_the_input_are_replaced() -> None:
    errors = field_errors_from_pydantic(
        [
            {"loc": ("kind",), "type": "union_tag_invalid", "msg": "Input tag 'card-4111' found using 'kind'"},
            {
                "loc": ("email",),
                "type": "value_error",
                "msg": "Value error, hunter22 is not allowed",
                "input": "hunter22",
            },
            {"loc": ("n",), "type": "less_than_equal", "msg": "Input should be less than or equal to 5", "input": 5},
        ]
    )
    assert [e.message for e in errors] == [
        "Invalid value.",
        "Invalid value.",
        "Input should be less than or equal to 5",  # a short value found by chance stays
    ]
