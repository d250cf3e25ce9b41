"""Parse and validate JSON request bodies with pydantic, raising API errors.

The Flask and Django adapters use this for their ``parse_json`` helpers so that
their 400 and 422 answers match FastAPI's byte for byte. Needs the ``pydantic``
extra.

Example:
    >>> from pydantic import BaseModel
    >>> class TaskIn(BaseModel):
    ...     title: str
    >>> parse_model(TaskIn, b'{"title": "write docs"}')
    TaskIn(title='write docs')
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Protocol, TypeVar

from backendkit._extras import require
from backendkit.errors import FieldError, MalformedJSON, UnsupportedMediaType, ValidationFailed, validation_error


class _Model(Protocol):
    @classmethod
    def model_validate(cls, obj: Any, *, from_attributes: bool | None = None) -> Any: ...


M = TypeVar("M", bound=_Model)


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` value names JSON: ``application/json`` or ``application/*+json``."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def parse_json(body: bytes | str) -> Any:
    """Decode a JSON body.

    An empty body is a missing body: a 422 with one ``missing`` field error at the
    root, as FastAPI answers it. Anything undecodable (bad syntax, bad UTF-8,
    nesting too deep, only white space) is a 400 ``MALFORMED_JSON``.

    Raises:
        MalformedJSON: The body is not JSON.
        ValidationFailed: The body is empty.
    """
    if not body:
        raise ValidationFailed([FieldError(field="", code="missing", message="Field required")])
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedJSON() from exc


def validate(model: type[M], data: Any, *, from_attributes: bool = False) -> M:
    """Validate ``data`` with a pydantic model; failures become ``ValidationFailed`` (422)."""
    try:
        result: M = model.model_validate(data, from_attributes=from_attributes)
    except _pydantic_validation_error() as exc:
        raise validation_error(exc.errors()) from None  # type: ignore[attr-defined]
    return result


@cache
def _pydantic_validation_error() -> type[Exception]:
    pydantic = require("pydantic", extra="pydantic", module="backendkit.validation")
    error: type[Exception] = pydantic.ValidationError
    return error


def parse_model(model: type[M], body: bytes | str, content_type: str | None = "application/json") -> M:
    """Check the content type, decode the body and validate it: what FastAPI does for a JSON body.

    Args:
        model: A pydantic model class.
        body: The raw request body.
        content_type: The request's ``Content-Type``; a non-empty body whose type
            is missing or not JSON is refused with 415 ``UNSUPPORTED_MEDIA_TYPE``.

    Raises:
        UnsupportedMediaType: The body is not declared as JSON.
        MalformedJSON: The body is not JSON.
        ValidationFailed: The body is missing or invalid.
    """
    if body and not is_json_media_type(content_type):
        raise UnsupportedMediaType()
    # from_attributes gives a non-object body (null, [], 3) FastAPI's error code too.
    return validate(model, parse_json(body), from_attributes=True)


__all__ = ["is_json_media_type", "parse_json", "parse_model", "validate"]
