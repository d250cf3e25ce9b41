"""The policy every adapter applies to an exception: map it, render it, say whether to log it."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from backendkit.errors._exceptions import APIError, InternalServerError
from backendkit.errors._registry import ExceptionRegistry
from backendkit.errors._render import (
    RENDERERS,
    ErrorResponse,
    RenderContext,
    Renderer,
    build_response,
    render_envelope,
)
from backendkit.errors._validation import from_pydantic

default_registry = ExceptionRegistry()
"""The process-wide registry that :func:`register` writes to."""

default_registry.register(APIError, lambda exc: exc)
default_registry.register_lazy("pydantic", "ValidationError", from_pydantic)
default_registry.register_lazy("pydantic_core", "ValidationError", from_pydantic)


@dataclass(frozen=True)
class HandledError:
    """The outcome of handling one exception.

    Attributes:
        response: What to send.
        error: The API error that was rendered.
        unhandled: ``True`` when nothing mapped the exception (a bug): the adapter
            logs it with its traceback.
        mapper_error: What a registered mapper or the renderer raised instead of
            answering, if one did (also logged).
    """

    response: ErrorResponse
    error: APIError
    unhandled: bool
    mapper_error: Exception | None = None


class ErrorHandler:
    """Maps and renders exceptions; one instance per application.

    Args:
        renderer: ``"envelope"`` (default), ``"problem"`` (RFC 9457) or a callable
            ``(error, context) -> RenderedBody``.
        registry: Where exception mappers are looked up first; the process-wide
            ``default_registry`` is always consulted after it.
        debug: Put the exception's type, text and traceback into 500 bodies.
            Never turn this on in production.

    Example:
        >>> handler = ErrorHandler(renderer="problem")
        >>> handled = handler.handle(KeyError("secret"), request_id="r1", instance="/x")
        >>> handled.response.status, handled.unhandled, b"secret" in handled.response.body
        (500, True, False)
    """

    def __init__(
        self,
        *,
        renderer: Renderer | str = "envelope",
        registry: ExceptionRegistry | None = None,
        debug: bool = False,
    ) -> None:
        if isinstance(renderer, str):
            try:
                renderer = RENDERERS[renderer]
            except KeyError:
                choices = ", ".join(sorted(RENDERERS))
                raise ValueError(f"unknown error format {renderer!r}; choose one of {choices}") from None
        self.renderer: Renderer = renderer
        self.registry = registry if registry is not None else default_registry
        # An app's own registry adds to the process-wide one rather than replacing it,
        # so APIError subclasses and pydantic errors keep their answers.
        self._defaults = () if self.registry is default_registry else (default_registry,)
        self.debug = debug

    def to_api_error(
        self, exc: BaseException, *fallbacks: ExceptionRegistry
    ) -> tuple[APIError, bool, Exception | None]:
        """The API error for ``exc``, whether it was unhandled, and the failure of a broken mapper."""
        try:
            mapped = self.registry.resolve(exc, *self._defaults, *fallbacks)
        except Exception as mapper_error:  # a broken mapper must not turn one error into two
            return self._internal(exc), True, mapper_error
        if mapped is not None:
            return mapped, False, None
        return self._internal(exc), True, None

    def _internal(self, exc: BaseException) -> InternalServerError:
        return InternalServerError(details=_debug_details(exc)) if self.debug else InternalServerError()

    def handle(
        self,
        exc: BaseException,
        *,
        request_id: str | None = None,
        instance: str | None = None,
        fallbacks: tuple[ExceptionRegistry, ...] = (),
    ) -> HandledError:
        """Map ``exc`` and render the response.

        Args:
            exc: The exception that escaped the application.
            request_id: The current request id, echoed in the body.
            instance: The request path.
            fallbacks: Framework translations consulted after :attr:`registry`.
        """
        error, unhandled, mapper_error = self.to_api_error(exc, *fallbacks)
        context = RenderContext(request_id=request_id, instance=instance)
        try:
            response = build_response(error, self.renderer, context)
        except Exception as render_error:  # a broken custom renderer: answer anyway, and report it
            error, unhandled, mapper_error = self._internal(exc), True, render_error
            response = build_response(error, render_envelope, context)
        return HandledError(response, error, unhandled, mapper_error)

    def render(self, error: APIError, *, request_id: str | None = None, instance: str | None = None) -> ErrorResponse:
        """Render an API error that is already known."""
        return build_response(error, self.renderer, RenderContext(request_id=request_id, instance=instance))


def _debug_details(exc: BaseException) -> dict[str, object]:
    return {
        "exception": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": str(exc),
        "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }
