"""How ``install`` hooks into a Starlette application."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette import status
from starlette.applications import Starlette
from starlette.convertors import CONVERTOR_TYPES
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.websockets import WebSocket

from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.asgi import BodyLimit, ErrorBoundary, RequestContextMiddleware, Scope
from backendkit.asgi._composed import refuse_composed
from backendkit.asgi._types import Receive, Send
from backendkit.asgi.http import HttpMiddleware
from backendkit.errors import (
    APIError,
    ErrorResponse,
    ExceptionRegistry,
    NotFound,
    error_for_status,
)
from backendkit.http import HttpSemantics, NotModified
from backendkit.logging._core.access import normalize_route

STATE_KEY = "backendkit"
_ROOT_PATH_KEY = "backendkit.root_path"


def _from_http_exception(exc: HTTPException) -> APIError:
    phrases = HTTPStatus._value2member_map_
    phrase = HTTPStatus(exc.status_code).phrase if exc.status_code in phrases else None
    detail: Any = exc.detail
    return error_for_status(
        exc.status_code,
        detail if isinstance(detail, str) else None,
        headers=exc.headers,
        details=None if isinstance(detail, str) else detail,
        framework_default=phrase,  # what Starlette fills in when the app gave no detail
    )


def _from_convertor_failure(exc: ValueError) -> APIError | None:
    """A path segment that a route's convertor matched but could not convert: no such resource, 404.

    Starlette's router converts the path parameters while it matches routes, and
    lets the convertor's ``ValueError`` escape the router: ``{id:int}`` matches
    any run of digits, and ``int()`` refuses more than ``sys.get_int_max_str_digits()``
    of them (4,300 by default). Flask and Django answer such a path 404, as a
    path the convertor's pattern refuses (``/tasks/abc``) is. Told apart from any
    other ``ValueError`` by where it was raised: in the ``convert`` of a convertor
    that route paths can name (a registered one's too).
    """
    # (a convert that is no Python function, a builtin or a partial, has no code object and raises nothing here)
    codes = (getattr(type(convertor).convert, "__code__", None) for convertor in CONVERTOR_TYPES.values())
    converting = {code for code in codes if code is not None}
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code in converting:
            return NotFound()
        frame = frame.tb_next
    return None


def translations() -> ExceptionRegistry:
    """Starlette's own exceptions as API errors (used after the app's registries)."""
    registry = ExceptionRegistry()
    registry.register(HTTPException, _from_http_exception)
    registry.register(ValueError, _from_convertor_failure)
    return registry


def to_response(response: ErrorResponse) -> Response:
    """A rendered error as a Starlette response."""
    return Response(
        content=response.body,
        status_code=response.status,
        headers=dict(response.headers[1:]),
        media_type=response.media_type,
    )


async def handle_http_exception(conn: HTTPConnection, exc: Exception) -> Response | None:
    """The app's ``HTTPException`` handler (routing 404/405, ``raise HTTPException``).

    On a websocket the answer is sent here, as a denial response (or a close where the
    server has no denial responses), and ``None`` returned: Starlette 0.38 and earlier
    ignore what a handler returns for a websocket (the client then waited for ever), and
    later releases send only a response that is not ``None``.
    """
    response = _http_exception_response(conn, exc)
    if not isinstance(conn, WebSocket):
        return response
    if "websocket.http.response" in conn.scope.get("extensions", {}):
        await response(conn.scope, conn.receive, conn.send)
    else:
        await conn.close(code=status.WS_1008_POLICY_VIOLATION)
    return None


async def answer_not_modified(conn: HTTPConnection, exc: Exception) -> Response:
    """A route's :class:`~backendkit.http.NotModified` (from ``Preconditions.check``): a 304 with its validators."""
    assert isinstance(exc, NotModified)
    return Response(status_code=304, headers=exc.headers)


def _http_exception_response(conn: HTTPConnection, exc: Exception) -> Response:
    state: AdapterState = getattr(conn.app.state, STATE_KEY)
    assert isinstance(exc, HTTPException)
    if exc.status_code < 400:  # a redirect or a 304 raised as an exception is no error
        return Response(status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 405:
        allowed = _allowed(conn.scope)
        if allowed:  # else keep what Starlette said
            exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allowed})
    method = conn.scope.get("method", "WEBSOCKET")
    return to_response(state.handle(exc, method=method, path=conn.scope["path"]).response)


def _allowed(scope: Scope) -> str:
    # Starlette's 405 lists the methods of the first route that matched the path
    # only; a path served by several routes (GET in one, DELETE in another)
    # allows the union. Routes are matched as the app's router first saw the
    # request, before a Mount rewrote root_path.
    original = {**scope, "root_path": scope.get(_ROOT_PATH_KEY, scope.get("root_path", ""))}
    methods: set[str] = set()
    for route in getattr(scope.get("router"), "routes", ()):
        match, _ = route.matches(original)
        if match is Match.PARTIAL:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(methods)


def _route_of(scope: Scope) -> str | None:
    template = _included_template(scope) or getattr(scope.get("route"), "path", None)
    if template is None:
        return None
    if scope.get("root_path", "") == scope.get(_ROOT_PATH_KEY, ""):  # no Mount on the way
        return normalize_route(template)
    return normalize_route(_mount_templates(scope) + template)


def _included_template(scope: Scope) -> str | None:
    """The template of a route in a router FastAPI keeps whole when included (0.165 and later), prefix and all.

    Such a route's ``scope["route"]`` is the route as its router declared it
    (``/readyz``), without the ``include_router`` prefix (``/ops``); FastAPI keeps
    the template it matched, prefix included, in its part of the scope. Read
    without importing FastAPI (this adapter serves plain Starlette too).
    """
    matched = scope.get("fastapi")
    context = matched.get("effective_route_context") if isinstance(matched, dict) else None
    template = getattr(context, "path_format", None)
    return template if isinstance(template, str) and template else None


def _mount_templates(scope: Scope) -> str:
    """The templates of the Mounts the request went through (``/tenants/{tenant}``), never their values.

    ``root_path`` holds what the Mounts matched (``/tenants/acme``): a label made from
    it would take values from the request. The Mounts are matched again, as the
    router matched them, from the app's router down. When that does not lead to
    where the request went (a Host, a Mount inside a plain ASGI app), no prefix is
    given: the route's own template stands alone, still a bounded value.
    """
    here = {**scope, "root_path": scope.get(_ROOT_PATH_KEY, "")}
    routes = getattr(scope.get("router"), "routes", ())
    prefix = ""
    while routes:
        for route in routes:
            if isinstance(route, Mount):
                match, child = route.matches(here)
                if match is Match.FULL:
                    prefix += route.path
                    here = {**here, **child}
                    routes = route.routes
                    break
        else:
            break
    return prefix if here.get("root_path") == scope.get("root_path") else ""


def _user_of(scope: Scope) -> str | None:
    user = scope.get("user")  # set by Starlette's AuthenticationMiddleware
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return str(user.identity)
    except NotImplementedError:
        return str(user.display_name)


class _StarletteContext(RequestContextMiddleware):
    def __init__(self, app: Any, *, state: AdapterState) -> None:
        super().__init__(app, state=state, route_of=_route_of, user_of=_user_of)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_ROOT_PATH_KEY] = scope.get("root_path", "")
        await super().__call__(scope, receive, send)


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
            ``request_id_header``, ``trust_request_id``, ``registry``, ``access_log``,
            ``access_log_exclude``, ``access_log_quiet``, ``max_body_size``,
            ``trusted_proxies`` (who the client is, for rate limits, idempotency keys
            and logs alike), ``cors`` (a ``backendkit.security.CORS`` or a mapping of its
            arguments: preflights answered before the app, CORS headers on every
            response) and ``security_headers`` (on by default; a ``SecurityHeaders``, a
            mapping, or ``False`` for none), ``conditional_requests`` and ``versioning``
            (``backendkit.http``: ETags and 304s, API versions and their deprecation headers,
            by ``backendkit.asgi.http.HttpMiddleware`` inside the request id and CORS). ``rate_limits``,
            ``auth`` and ``idempotency`` are refused:
            an ASGI app adds those pieces itself, in the order it chooses.

    Raises:
        RuntimeError: The app has already started, or was installed twice.
        ConfigurationError: A setting is wrong, or one the app composes itself is set.
    """
    if getattr(app.state, STATE_KEY, None) is not None:
        raise RuntimeError("backendkit is already installed on this application")
    if app.middleware_stack is not None:
        raise RuntimeError("install backendkit before the application starts")
    settings = settings if settings is not None else Settings.from_mapping({}, **options)
    refuse_composed(settings)  # rate_limits, auth, idempotency: the app adds them where they belong
    _check_guarded_routes(app)  # the routes and middleware given to Starlette(...); again at start-up
    found = (*((extra_translations,) if extra_translations else ()), translations())
    state = AdapterState(settings, found)
    setattr(app.state, STATE_KEY, state)
    # Exceptions the router and endpoints raise are caught by Starlette's
    # ExceptionMiddleware; only its HTTPException handler needs replacing.
    app.add_exception_handler(HTTPException, handle_http_exception)  # type: ignore[arg-type]  # both scopes
    app.add_exception_handler(NotModified, answer_not_modified)
    _interleave_boundaries(app, state)


def _check_guarded_routes(app: Starlette) -> None:
    """``@require`` endpoints need authenticating middleware; checked only when such an endpoint exists."""
    try:
        from backendkit.starlette.auth import check_guarded_routes
    except ImportError:  # (the auth extra is not installed: no endpoint can have @require)
        return
    check_guarded_routes(app.routes, app.user_middleware)


def _interleave_boundaries(app: Starlette, state: AdapterState) -> None:
    context = Middleware(_StarletteContext, state=state)
    boundary = Middleware(ErrorBoundary, state=state)
    first = [context]
    settings = state.settings
    semantics = HttpSemantics.from_settings(settings.conditional_requests, settings.versioning)
    if semantics.active:  # inside the request id and CORS (a 304 or a 412 carries their headers), outside the app
        first.append(Middleware(HttpMiddleware, semantics=semantics, state=state))
    if settings.max_body_size is not None:
        first.append(Middleware(BodyLimit, limit=settings.max_body_size, state=state))
    build = app.build_middleware_stack

    def build_with_boundaries() -> Any:
        _check_guarded_routes(app)  # at start-up: what was added after install() too
        user = app.user_middleware
        stack = [*first, boundary]
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
