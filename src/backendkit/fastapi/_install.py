"""FastAPI on top of the Starlette installation: validation errors and OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import Response

from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.errors import APIError, ExceptionRegistry, MalformedJSON, validation_error
from backendkit.fastapi._openapi import document_reports, error_responses, rewrite
from backendkit.fastapi._routes import answer_head, document_routes, head_hidden, route_contexts
from backendkit.fastapi.http import PreconditionsFirst, _Refused, document_http, refused_error, requires_preconditions
from backendkit.http import HttpSemantics
from backendkit.starlette._install import STATE_KEY, to_response
from backendkit.starlette._install import install as install_starlette

_BODY_PARSE_FAILED = "There was an error parsing the body"  # FastAPI's own text for this case


def _from_http_exception(exc: HTTPException) -> MalformedJSON | None:
    # FastAPI answers a JSON body it cannot parse for reasons other than a
    # decode error (nesting too deep, say) with a bare HTTPException(400).
    if exc.status_code == 400 and exc.detail == _BODY_PARSE_FAILED and exc.__cause__ is not None:
        return MalformedJSON()
    return None


def _from_request_validation_error(exc: RequestValidationError) -> APIError:
    # FastAPI passes the raw bytes on when the content type kept it from decoding the body.
    return validation_error(exc.errors(), located=True, body_decoded=not isinstance(exc.body, bytes))


def translations() -> ExceptionRegistry:
    """FastAPI's own exceptions as API errors."""
    registry = ExceptionRegistry()
    registry.register(RequestValidationError, _from_request_validation_error)
    registry.register(HTTPException, _from_http_exception)
    registry.register(_Refused, refused_error)
    return registry


async def _handle_validation_error(conn: HTTPConnection, exc: Exception) -> Response:
    state: AdapterState = getattr(conn.app.state, STATE_KEY)
    method = conn.scope.get("method", "WEBSOCKET")
    return to_response(state.handle(exc, method=method, path=conn.scope["path"]).response)


def install(app: FastAPI, *, settings: Settings | None = None, **options: Any) -> None:
    """Install request ids, the error envelope and its OpenAPI documentation on a FastAPI app.

    Everything ``backendkit.starlette.install`` does, plus: request validation
    errors become 422 ``VALIDATION_ERROR`` with field errors (never echoing the
    input); every GET route answers HEAD, as on Flask and Django; and the OpenAPI
    document says what the app sends: error responses in the envelope (or RFC
    9457) schema, a 400 and 415 for every JSON body (and 413 with
    ``max_body_size``), a 404 for a path the route's convertor refuses, and no
    422 where FastAPI cannot send one. With ``conditional_requests`` or ``versioning``,
    the HTTP layer runs (``backendkit.asgi.http``) and the document says so (304 on GET
    operations, deprecated versions' operations ``deprecated: true``); a route that
    requires a precondition (``backendkit.fastapi.http.preconditions(required=True)``)
    answers 428 before its body is read.

    Args:
        app: The application.
        settings: Shared settings; built from ``options`` when omitted.
        **options: Lower-case setting names, as ``backendkit.starlette.install`` takes them
            (``rate_limits``, ``auth`` and ``idempotency`` refused: they are dependencies and
            middleware the app places itself).
    """
    install_starlette(app, settings=settings, extra_translations=translations(), **options)
    state: AdapterState = getattr(app.state, STATE_KEY)
    semantics = HttpSemantics.from_settings(state.settings.conditional_requests, state.settings.versioning)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    generate = app.openapi

    answering_head: set[int] = set()  # the GET routes made to answer HEAD too (their ids)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            with head_hidden(app.routes, answering_head):  # one operation per route, its GET
                schema = generate()
            document_routes(schema, app.routes, max_body_size=state.settings.max_body_size)
            document_http(schema, app.routes, semantics)
            security = state.security
            if security is not None and security.headers is not None and security.report_path is not None:
                document_reports(schema, security.report_path, security.headers.report_max_bytes)
            rewrite(schema, state.handler.renderer)
            app.openapi_schema = schema
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010  (FastAPI's documented way to extend OpenAPI)
    build = app.build_middleware_stack

    def build_answering_head() -> Any:
        # When the app starts serving, so that routes added after install() answer HEAD too.
        answer_head(app.routes, answering_head)
        found: dict[int, bool] = {}
        if not any(requires_preconditions(route.dependant, found) for route, _ in route_contexts(app.routes)):
            return build()
        user = app.user_middleware
        app.user_middleware = [*user, Middleware(PreconditionsFirst)]  # innermost: reads the routed scope
        try:
            return build()
        finally:
            app.user_middleware = user

    setattr(app, "build_middleware_stack", build_answering_head)  # noqa: B010  (as starlette's install does)


__all__ = ["error_responses", "install"]
