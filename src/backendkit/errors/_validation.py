"""Validation errors from pydantic (and FastAPI) as field errors.

Works on the list of dicts that ``ValidationError.errors()`` returns, so it needs
no import of pydantic. Only ``loc``, ``type`` and ``msg`` are copied: the submitted
``input`` and the ``ctx`` never are, and a message that would quote the input
(pydantic's ``union_tag_invalid``, or a custom validator's text containing a
submitted value of four characters or more) is replaced by ``"Invalid value."``.
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
        code = str(err.get("type") or "invalid")
        out.append(
            FieldError(
                field=".".join(str(p) for p in path),
                code=code,
                message=_safe_message(code, str(err.get("msg") or ""), err.get("input")),
                location=where,
                path=path,
            )
        )
    return out


# pydantic error types whose message quotes the submitted value.
_ECHOING_TYPES = frozenset({"union_tag_invalid"})
_MIN_ECHO = 4  # shorter inputs ("a", "12") appear in ordinary messages by chance


def _safe_message(code: str, message: str, value: Any) -> str:
    """pydantic's message, unless it would repeat what the client sent."""
    if not message or code in _ECHOING_TYPES:
        return "Invalid value."
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= _MIN_ECHO and text in message:
            return "Invalid value."
    return message


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
