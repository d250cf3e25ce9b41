"""The API error hierarchy.

::

    Exception
     └── APIError                       500 INTERNAL_ERROR (the base)
          ├── BadRequest                400 BAD_REQUEST
          │    └── MalformedJSON        400 MALFORMED_JSON
          ├── Unauthorized              401 UNAUTHORIZED
          ├── Forbidden                 403 FORBIDDEN
          ├── NotFound                  404 NOT_FOUND
          ├── MethodNotAllowed          405 METHOD_NOT_ALLOWED   (sets Allow)
          ├── Conflict                  409 CONFLICT
          ├── UnsupportedMediaType      415 UNSUPPORTED_MEDIA_TYPE
          ├── ValidationFailed          422 VALIDATION_ERROR     (carries field errors)
          ├── TooManyRequests           429 RATE_LIMITED         (sets Retry-After)
          ├── InternalServerError       500 INTERNAL_ERROR
          └── ServiceUnavailable        503 SERVICE_UNAVAILABLE
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One invalid field of a request.

    Attributes:
        field: Dotted path of the field (``"items.0.name"``); ``""`` for the whole body.
        code: Stable machine code (pydantic's error type, such as ``"missing"``).
        message: Human-readable text. Never contains the submitted value.
        location: Where the field was read from: ``"body"``, ``"query"``, ``"path"``,
            ``"header"`` or ``"cookie"``.
        path: The field's path as a tuple of keys and indexes.
    """

    field: str
    code: str
    message: str
    location: str = "body"
    path: tuple[str | int, ...] = ()

    @property
    def pointer(self) -> str | None:
        """RFC 6901 JSON pointer into the body, or ``None`` outside the body."""
        if self.location != "body":
            return None
        parts = self.path if self.path else tuple(p for p in self.field.split(".") if p)
        escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
        return "".join("/" + p for p in escaped)

    def as_dict(self) -> dict[str, str]:
        """The field error as the envelope writes it."""
        out = {"field": self.field}
        pointer = self.pointer
        if pointer is None:
            out["location"] = self.location
        else:
            out["pointer"] = pointer
        out["code"] = self.code
        out["message"] = self.message
        return out


class ConfigurationError(ValueError):
    """A backendkit setting, or an argument that sets something up, is missing, unknown or wrong.

    Raised at start-up (when a limit, a pagination or an adapter is built), never
    while answering a request.
    """


class APIError(Exception):
    """An error that has a defined HTTP answer.

    Raise it (or a subclass) from any framework; the installed adapter renders it.
    Subclasses set ``status``, ``code``, ``message`` (the default text), and may set
    ``title`` and ``type_uri`` for RFC 9457 responses.

    Example:
        >>> class PlanLimitReached(APIError):
        ...     status = 402
        ...     code = "PLAN_LIMIT"
        ...     message = "Your plan does not allow more projects."
        >>> err = PlanLimitReached(details={"limit": 3})
        >>> (err.status, err.code, err.details)
        (402, 'PLAN_LIMIT', {'limit': 3})
    """

    status: int = 500
    code: str = "INTERNAL_ERROR"
    message: str = "An unexpected error occurred."
    title: str | None = None
    type_uri: str = "about:blank"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if not 400 <= self.status <= 599:
            raise ValueError(f"an API error needs a 4xx or 5xx status, not {self.status}")
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})
        self.field_errors: tuple[FieldError, ...] = ()
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r})"


class BadRequest(APIError):
    """400: the request is malformed in a way no field error describes."""

    status = 400
    code = "BAD_REQUEST"
    message = "The request could not be understood."


class MalformedJSON(BadRequest):
    """400: the body is not valid JSON."""

    code = "MALFORMED_JSON"
    message = "The request body is not valid JSON."


class Unauthorized(APIError):
    """401: authentication is missing or failed."""

    status = 401
    code = "UNAUTHORIZED"
    message = "Authentication is required."


class Forbidden(APIError):
    """403: authenticated, but not allowed."""

    status = 403
    code = "FORBIDDEN"
    message = "You do not have permission to perform this action."


class NotFound(APIError):
    """404: no such resource (or route)."""

    status = 404
    code = "NOT_FOUND"
    message = "The requested resource was not found."


class MethodNotAllowed(APIError):
    """405: the route exists but not for this method; sets ``Allow``.

    The methods are upper-cased, de-duplicated and sorted, so every framework
    sends the same ``Allow`` header for the same route.
    """

    status = 405
    code = "METHOD_NOT_ALLOWED"
    message = "The method is not allowed for this resource."

    def __init__(self, allowed: Iterable[str] = (), message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.allowed = sorted({m.strip().upper() for m in allowed if m.strip()})
        if self.allowed:
            self.headers["Allow"] = ", ".join(self.allowed)


class Conflict(APIError):
    """409: the request conflicts with the current state (a duplicate, say)."""

    status = 409
    code = "CONFLICT"
    message = "The request conflicts with the current state of the resource."


class Gone(APIError):
    """410: the resource was here and is retired for good (a sunset API version, say)."""

    status = 410
    code = "GONE"
    message = "This resource is no longer available."


class PreconditionFailed(APIError):
    """412: a precondition (``If-Match``, ``If-Unmodified-Since``, ``If-None-Match``) did not hold.

    The resource changed since the client read it: it should read it again (the
    current ``ETag`` rides along when known) and re-apply its change.
    """

    status = 412
    code = "PRECONDITION_FAILED"
    message = "The resource has changed since it was read; read it again and retry."


class PreconditionRequired(APIError):
    """428: the route changes state only under a precondition, and the request sent none (RFC 6585)."""

    status = 428
    code = "PRECONDITION_REQUIRED"
    message = "This request must be conditional: send If-Match with the ETag you read."


class ContentTooLarge(APIError):
    """413: the request body is larger than the application accepts (RFC 9110's "Content Too Large")."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body is too large."


class UnsupportedMediaType(APIError):
    """415: the body is not in a format the endpoint reads (JSON, for the helpers here)."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    message = "The request body must be JSON (Content-Type: application/json)."


class ValidationFailed(APIError):
    """422: one or more fields are invalid; ``details`` lists them."""

    status = 422
    code = "VALIDATION_ERROR"
    message = "The request contains invalid fields."

    def __init__(self, errors: Sequence[FieldError] = (), message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = tuple(errors)
        if self.details is None and self.field_errors:
            self.details = [e.as_dict() for e in self.field_errors]


class TooManyRequests(APIError):
    """429: a rate limit was hit; ``retry_after`` (seconds) sets ``Retry-After``."""

    status = 429
    code = "RATE_LIMITED"
    message = "Too many requests."

    def __init__(self, retry_after: float | None = None, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(0, math.ceil(retry_after)))


class InternalServerError(APIError):
    """500: an unexpected failure. Unmapped exceptions become this, with a fixed message."""


class ServiceUnavailable(APIError):
    """503: a dependency is down or the service is overloaded."""

    status = 503
    code = "SERVICE_UNAVAILABLE"
    message = "The service is temporarily unavailable."


# Statuses that frameworks raise without a class of ours. Titles are fixed here
# (not taken from http.HTTPStatus) because Python renamed some phrases between
# versions and the wire output must not change with the interpreter.
_STATUS_TABLE: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "Bad Request"),
    401: ("UNAUTHORIZED", "Unauthorized"),
    402: ("PAYMENT_REQUIRED", "Payment Required"),
    403: ("FORBIDDEN", "Forbidden"),
    404: ("NOT_FOUND", "Not Found"),
    405: ("METHOD_NOT_ALLOWED", "Method Not Allowed"),
    406: ("NOT_ACCEPTABLE", "Not Acceptable"),
    408: ("REQUEST_TIMEOUT", "Request Timeout"),
    409: ("CONFLICT", "Conflict"),
    410: ("GONE", "Gone"),
    411: ("LENGTH_REQUIRED", "Length Required"),
    412: ("PRECONDITION_FAILED", "Precondition Failed"),
    413: ("PAYLOAD_TOO_LARGE", "Content Too Large"),
    414: ("URI_TOO_LONG", "URI Too Long"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type"),
    416: ("RANGE_NOT_SATISFIABLE", "Range Not Satisfiable"),
    422: ("VALIDATION_ERROR", "Unprocessable Content"),
    428: ("PRECONDITION_REQUIRED", "Precondition Required"),
    429: ("RATE_LIMITED", "Too Many Requests"),
    431: ("HEADERS_TOO_LARGE", "Request Header Fields Too Large"),
    500: ("INTERNAL_ERROR", "Internal Server Error"),
    501: ("NOT_IMPLEMENTED", "Not Implemented"),
    502: ("BAD_GATEWAY", "Bad Gateway"),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable"),
    504: ("GATEWAY_TIMEOUT", "Gateway Timeout"),
}

_CLASSES: dict[int, type[APIError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Gone,
        PreconditionFailed,
        PreconditionRequired,
        ContentTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        InternalServerError,
        ServiceUnavailable,
    )
}


def status_title(status: int) -> str:
    """The fixed RFC 9110 reason phrase used as an RFC 9457 ``title``."""
    known = _STATUS_TABLE.get(status)
    if known is not None:
        return known[1]
    return "Client Error" if status < 500 else "Server Error"


def error_for_status(
    status: int,
    message: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    details: Any = None,
    framework_default: str | None = None,
) -> APIError:
    """The API error for a bare HTTP status, as raised by a framework.

    Args:
        status: A 4xx or 5xx status; anything else is treated as 500.
        message: Text the framework carried; shown to the client unless it is
            ``None`` or equal to ``framework_default``.
        headers: Headers the framework attached (``Allow``, ``WWW-Authenticate``...).
        details: Structured details (a non-text ``detail``, say).
        framework_default: The framework's own filler text for the status (a
            reason phrase, an HTML-page sentence): not the app's words, so the
            default message is used instead and every framework says the same.

    Returns:
        An instance of the matching class (``NotFound`` for 404...), or a plain
        ``APIError`` with a code from the status table.
    """
    if message is not None and message == framework_default:
        message = None
    error = _error_for_status(status, message, dict(headers or {}))
    if details is not None:
        error.details = details
    return error


def _error_for_status(status: int, message: str | None, hdrs: dict[str, str]) -> APIError:
    if not 400 <= status <= 599:
        status = 500
    if status == 405:
        allow = next((v for k, v in hdrs.items() if k.lower() == "allow"), "")
        rest = {k: v for k, v in hdrs.items() if k.lower() != "allow"}
        return MethodNotAllowed(allow.split(","), message, headers=rest)
    if status == 429:
        return TooManyRequests(None, message, headers=hdrs)
    cls = _CLASSES.get(status)
    if cls is not None:
        return cls(message=message, headers=hdrs)
    code = _STATUS_TABLE.get(status, ("HTTP_ERROR", ""))[0]
    return APIError(message or status_title(status), code=code, status=status, headers=hdrs)
