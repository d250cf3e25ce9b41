"""How ``install`` hooks into a Starlette application."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from backendkit._runtime import log_unhandled
from backendkit._settings import Settings
from backendkit.asgi import ErrorBoundary, RequestContextMiddleware
from backendkit.context import get_request_id
from backendkit.errors import APIError, ErrorHandler, ErrorResponse, ExceptionRegistry, error_for_status

_STATE_KEY = "backendkit"


def _from_http_exception(exc: HTTPException) -> APIError:
    # Starlette fills an omitted detail with the status phrase: that is not a
    # message of the app's, so ours is used and every framework says the same.
    detail: Any = exc.detail
    phrase = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else None
    message = detail if isinstance(detail, str) and detail != phrase else None
    error = error_for_status(exc.status_code, message, headers=exc.headers)
    if not isinstance(detail, str) and detail is not None:
        error.details = detail
    return error


def translations() -> ExceptionRegistry:
    """Starlette's own exceptions as API errors (used after the app's registry)."""
    registry = ExceptionRegistry()
    registry.register(HTTPException, _from_http_exception)
    return registry


class _Installed:
    def __init__(self, settings: Settings, fallbacks: tuple[ExceptionRegistry, ...]) -> None:
        self.settings = settings
        self.handler: ErrorHandler = settings.error_handler()
        self.fallbacks = fallbacks

    def respond(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            allowed = _allowed(request)
            if allowed:  # else (a mounted sub-app's route, say) keep what Starlette said
                exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allowed})
        request_id = get_request_id()
        path = request.scope["path"]  # request.url would build a whole URL object
        handled = self.handler.handle(exc, request_id=request_id, instance=path, fallbacks=self.fallbacks)
        log_unhandled(exc, handled, request_id=request_id, method=request.method, path=path)
        return to_response(handled.response)


def _allowed(request: Request) -> str:
    # Starlette's 405 lists the methods of the first route that matched the path
    # only; a path served by several routes (GET in one, DELETE in another)
    # allows the union.
    methods: set[str] = set()
    for route in getattr(request.scope.get("router"), "routes", ()):
        match, _ = route.matches(request.scope)
        if match is Match.PARTIAL:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(methods)


def to_response(response: ErrorResponse) -> Response:
    """A rendered error as a Starlette response."""
    return Response(
        content=response.body,
        status_code=response.status,
        headers=dict(response.headers[1:]),
        media_type=response.media_type,
    )


def install(
    app: Starlette,
    *,
    settings: Settings | None = None,
    extra_translations: ExceptionRegistry | None = None,
    **options: Any,
) -> None:
    """Install request ids and error envelopes on a Starlette application.

    Every middleware of the app is wrapped in an error boundary, so an exception
    raised inside any middleware becomes an error response that the middleware
    around it (CORS, say) still sees and decorates. Call it before the app
    serves its first request; middleware added later is covered too.

    Args:
        app: The application.
        settings: Shared settings; built from ``options`` when omitted.
        extra_translations: More framework translations (FastAPI's).
        **options: Lower-case setting names: ``error_format``, ``debug_errors``,
            ``request_id_header``, ``trust_request_id``, ``registry``.

    Raises:
        RuntimeError: The app has already started, or was installed twice.
    """
    if getattr(app.state, _STATE_KEY, None) is not None:
        raise RuntimeError("backendkit is already installed on this application")
    if app.middleware_stack is not None:
        raise RuntimeError("install backendkit before the application starts")
    settings = settings if settings is not None else Settings.from_mapping({}, **options)
    fallbacks = (*((extra_translations,) if extra_translations else ()), translations())
    state = _Installed(settings, fallbacks)
    setattr(app.state, _STATE_KEY, state)

    async def handle(request: Request, exc: Exception) -> Response:
        return state.respond(request, exc)

    # Exceptions the router and endpoints raise are caught by Starlette's
    # ExceptionMiddleware; only its HTTPException handler needs replacing.
    app.add_exception_handler(HTTPException, handle)
    _interleave_boundaries(app, state)


def _interleave_boundaries(app: Starlette, state: _Installed) -> None:
    context = Middleware(
        RequestContextMiddleware,
        header=state.settings.request_id_header,
        trust_incoming=state.settings.trust_request_id,
    )
    boundary = Middleware(ErrorBoundary, handler=state.handler, fallbacks=state.fallbacks)
    build = app.build_middleware_stack

    def build_with_boundaries() -> Any:
        user = app.user_middleware
        stack = [context, boundary]
        for middleware in user:
            stack += [middleware, boundary]
        app.user_middleware = stack
        try:
            return build()
        finally:
            app.user_middleware = user

    # Rebuilding the list at build time (not at install time) covers middleware
    # that is added after install(); the framework's own builder does the rest.
    setattr(app, "build_middleware_stack", build_with_boundaries)  # noqa: B010
