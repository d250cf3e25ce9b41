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
from typing import Any, Protocol, TypeVar

from backendkit._extras import require
from backendkit.errors import FieldError, MalformedJSON, ValidationFailed, validation_error


class _Model(Protocol):
    @classmethod
    def model_validate(cls, obj: Any) -> Any: ...


M = TypeVar("M", bound=_Model)


def parse_json(body: bytes | str) -> Any:
    """Decode a JSON body.

    An empty body is a missing body: a 422 with one ``missing`` field error at the
    root, as FastAPI answers it. Anything undecodable (bad syntax, bad UTF-8,
    nesting too deep) is a 400 ``MALFORMED_JSON``.

    Raises:
        MalformedJSON: The body is not JSON.
        ValidationFailed: The body is empty.
    """
    if not body.strip():
        raise ValidationFailed([FieldError(field="", code="missing", message="Field required")])
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedJSON() from exc


def validate(model: type[M], data: Any) -> M:
    """Validate ``data`` with a pydantic model; failures become ``ValidationFailed`` (422)."""
    pydantic = require("pydantic", extra="pydantic", module="backendkit.validation")
    try:
        result: M = model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc.errors()) from None
    return result


def parse_model(model: type[M], body: bytes | str) -> M:
    """:func:`parse_json` then :func:`validate`."""
    return validate(model, parse_json(body))


__all__ = ["parse_json", "parse_model", "validate"]
