"""Validation errors from pydantic (and FastAPI) as field errors.

Works on the list of dicts that ``ValidationError.errors()`` returns, so it needs
no import of pydantic. Only ``loc``, ``type`` and ``msg`` are read: the submitted
``input`` and the ``ctx`` are never copied, so no value is echoed back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backendkit.errors._exceptions import APIError, FieldError, MalformedJSON, UnsupportedMediaType, ValidationFailed

LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def field_errors_from_pydantic(
    errors: Iterable[Mapping[str, Any]], *, located: bool = False, location: str = "body"
) -> list[FieldError]:
    """Turn pydantic's error dicts into :class:`FieldError` s.

    Args:
        errors: What ``ValidationError.errors()`` returns.
        located: ``True`` when each ``loc`` starts with where the value came from
            (FastAPI: ``("body", "title")``, ``("query", "limit")``).
        location: The location when ``located`` is ``False``.

    Returns:
        One field error per pydantic error, in order.
    """
    out = []
    for err in errors:
        loc = tuple(err.get("loc") or ())
        where = location
        if located and loc and loc[0] in LOCATIONS:
            where, loc = str(loc[0]), loc[1:]
        path = tuple(p if isinstance(p, int) else str(p) for p in loc)
        out.append(
            FieldError(
                field=".".join(str(p) for p in path),
                code=str(err.get("type") or "invalid"),
                message=str(err.get("msg") or "Invalid value."),
                location=where,
                path=path,
            )
        )
    return out


def _at_body_root(err: Mapping[str, Any]) -> bool:
    # FastAPI reports an undecodable body at ("body",) or ("body", <offset>).
    loc = tuple(err.get("loc") or ())
    return bool(loc) and loc[0] == "body" and all(isinstance(p, int) for p in loc[1:])


def validation_error(
    errors: Iterable[Mapping[str, Any]], *, located: bool = False, body_decoded: bool = True
) -> APIError:
    """The API error for a failed validation.

    With ``located`` errors (FastAPI's), two cases are not field errors: a
    ``json_invalid`` error at the body's root means the body was not JSON at all
    (400 ``MALFORMED_JSON``), and an error at the root of a body that was not
    decoded because its content type is not JSON (``body_decoded=False``) is a
    415 ``UNSUPPORTED_MEDIA_TYPE``. A ``json_invalid`` error deeper down (a
    ``Json[...]`` field) stays a field error.
    """
    items = list(errors)
    if located and any(_at_body_root(err) for err in items):
        if not body_decoded:
            return UnsupportedMediaType()
        if any(err.get("type") == "json_invalid" for err in items if _at_body_root(err)):
            return MalformedJSON()
    return ValidationFailed(field_errors_from_pydantic(items, located=located))


def from_pydantic(exc: Any) -> APIError:
    """Mapper for ``pydantic.ValidationError`` (and anything with a compatible ``errors()``)."""
    return validation_error(exc.errors())
