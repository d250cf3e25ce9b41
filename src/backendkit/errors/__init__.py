"""One model of an API error, rendered the same way on every framework.

This package is the pure core of error handling: no I/O, no framework and no
driver imports. Adapters (``backendkit.fastapi``, ``backendkit.flask``,
``backendkit.django``) translate their frameworks' exceptions and send what
:class:`ErrorHandler` renders.

Example:
    >>> from backendkit.errors import Conflict, register
    >>> class UserExists(Exception): ...
    >>> register(UserExists, lambda exc: Conflict("That user already exists."))
"""

from __future__ import annotations

from backendkit.errors._exceptions import (
    APIError,
    BadRequest,
    ConfigurationError,
    Conflict,
    ContentTooLarge,
    FieldError,
    Forbidden,
    Gone,
    InternalServerError,
    MalformedJSON,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    error_for_status,
    status_title,
)
from backendkit.errors._handler import ErrorHandler, HandledError, default_registry
from backendkit.errors._registry import ExceptionRegistry, Mapper
from backendkit.errors._render import (
    RENDERERS,
    ErrorResponse,
    RenderContext,
    RenderedBody,
    Renderer,
    build_response,
    encode,
    render_envelope,
    render_problem,
)
from backendkit.errors._validation import field_errors_from_pydantic, from_pydantic, validation_error

register = default_registry.register
"""Map an exception type in the process-wide registry: ``register(UserExists, to_conflict)``."""

__all__ = [
    "RENDERERS",
    "APIError",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "ContentTooLarge",
    "ErrorHandler",
    "ErrorResponse",
    "ExceptionRegistry",
    "FieldError",
    "Forbidden",
    "Gone",
    "HandledError",
    "InternalServerError",
    "MalformedJSON",
    "Mapper",
    "MethodNotAllowed",
    "NotFound",
    "PreconditionFailed",
    "PreconditionRequired",
    "RenderContext",
    "RenderedBody",
    "Renderer",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "build_response",
    "default_registry",
    "encode",
    "error_for_status",
    "field_errors_from_pydantic",
    "from_pydantic",
    "register",
    "render_envelope",
    "render_problem",
    "status_title",
    "validation_error",
]
