"""The Flask extension: hooks, the error handler and the JSON body helper."""

from __future__ import annotations

from typing import IO, Any

from flask import Flask, Request, Response, current_app, g, request
from flask.signals import got_request_exception
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

from backendkit._headers import add_headers, close_channel, open_channel
from backendkit._runtime import AdapterState, InFlight
from backendkit._settings import Settings
from backendkit._wsgi import terminated_body
from backendkit.errors import (
    APIError,
    ConfigurationError,
    ContentTooLarge,
    ExceptionRegistry,
    MalformedJSON,
    UnsupportedMediaType,
    error_for_status,
)
from backendkit.flask import _http, _security
from backendkit.flask._routing import WholeNumberConverter, allowed_for_this_url, rule_of
from backendkit.flask._state import EXTENSION, install_state, state_of
from backendkit.http import HttpSemantics, NotModified
from backendkit.logging._core.access import normalize_route
from backendkit.validation import M, parse_model

_IN_FLIGHT = "backendkit.in_flight"
_RESPONSE = "backendkit.response"


def _class_description(exc: HTTPException) -> str | None:
    for klass in type(exc).__mro__:
        text = klass.__dict__.get("description")
        if isinstance(text, str):
            return text
    return None


def _from_werkzeug(exc: HTTPException) -> APIError | None:
    if exc.code is None:
        return None
    # Werkzeug's class descriptions are generic HTML-page prose, not the app's
    # words; a BadRequestKeyError's text names the missing form key.
    message = None if isinstance(exc, KeyError) else exc.description
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return error_for_status(exc.code, message, headers=headers, framework_default=_class_description(exc))


def translations() -> ExceptionRegistry:
    """Werkzeug's HTTP exceptions as API errors (used after the app's registries)."""
    registry = ExceptionRegistry()
    registry.register(HTTPException, _from_werkzeug)
    return registry


class _Fields:
    """A response's werkzeug ``Headers`` as the channel's :class:`~backendkit._headers.HeaderTarget`.

    The names present are read once: werkzeug's ``get`` of an absent field raises
    and catches a ``KeyError``, and setting a field scans for lines to replace, so
    the plain ``Headers`` took 3.5 us to add the two ``RateLimit`` fields and this
    view takes 1.0 us: a tenth of what a Flask rate limit adds to a request
    (``benchmarks/ratelimit_bench.py``, case 5: 22 us).
    """

    __slots__ = ("_headers", "_present")

    def __init__(self, headers: Headers) -> None:
        self._headers = headers
        self._present = {name.lower() for name in headers.keys()}  # noqa: SIM118  (Headers iterates over pairs)

    def get(self, name: str) -> str | None:
        if name.lower() not in self._present:
            return None
        return ", ".join(self._headers.getlist(name))  # every line of the field, as the channel's rule reads it

    def __setitem__(self, name: str, value: str) -> None:
        lowered = name.lower()
        if lowered in self._present:
            self._headers[name] = value
        else:
            self._headers.add(name, value)
            self._present.add(lowered)

    def setdefault(self, name: str, value: str, /) -> None:
        lowered = name.lower()
        if lowered not in self._present:
            self._headers.add(name, value)
            self._present.add(lowered)


def _request_class(request_class: type[Request]) -> type[Request]:
    """A subclass of the app's request class whose ``get_json()`` raises our errors, and whose body is never cut.

    Flask reports an undecodable body as a generic BadRequest, which cannot be
    told apart from any other 400 afterwards; this hook is the one place that
    knows. ``MalformedJSON`` for an undecodable body, ``UnsupportedMediaType``
    for a body not declared as JSON.

    A body the server ends itself (gunicorn's reading of a chunked body) has no
    ``Content-Length``; werkzeug reads it up to ``MAX_CONTENT_LENGTH`` and stops
    there without a word, so a view acted on the first MiB of a larger body. Its
    ``stream`` is read through ``backendkit._wsgi.terminated_body`` instead:
    whole, or a 413.
    """

    def on_json_loading_failed(self: Request, e: ValueError | None) -> Any:
        if e is not None:
            raise MalformedJSON() from e
        raise UnsupportedMediaType()

    ours: type[Request]  # (the class made below)

    def stream(self: Request) -> IO[bytes]:
        bounded = None if self.shallow else terminated_body(self.environ, self.max_content_length)
        return bounded if bounded is not None else super(ours, self).stream

    namespace = {
        "on_json_loading_failed": on_json_loading_failed,
        "stream": cached_property(stream),
        "__module__": request_class.__module__,
    }
    ours = type(request_class.__name__, (request_class,), namespace)
    return ours


class BackendKit:
    """The Flask extension.

    Configuration comes from ``app.config`` keys with the ``BACKENDKIT_`` prefix
    (``BACKENDKIT_ERROR_FORMAT``, ``BACKENDKIT_DEBUG_ERRORS``,
    ``BACKENDKIT_REQUEST_ID_HEADER``, ``BACKENDKIT_TRUST_REQUEST_ID``); keyword
    arguments (lower-case names, plus ``registry``) take precedence. The
    extension keeps no reference to the app: its state lives in
    ``app.extensions["backendkit"]``.

    ``rate_limits`` (one :class:`~backendkit.ratelimit.Limit` or several; also the
    ``BACKENDKIT_RATE_LIMITS`` config key) are checked before every request, after
    the URL is matched; per-view limits use :func:`backendkit.flask.ratelimit.limit`.
    ``auth`` (``BACKENDKIT_AUTH``: a ``JWTVerifier``, an ``APIKeyVerifier`` or a ``BearerAuth``)
    installs :class:`backendkit.flask.auth.Auth` and names every request's user from its
    token or API key; ``idempotency`` (``BACKENDKIT_IDEMPOTENCY``: an ``Idempotency``) covers every
    request whose method it covers, as ``idempotent_every_request`` does.

    ``cors`` (``BACKENDKIT_CORS``: a :class:`~backendkit.security.CORS` or a mapping of its
    arguments) and ``security_headers`` (``BACKENDKIT_SECURITY_HEADERS``: on by default; a
    :class:`~backendkit.security.SecurityHeaders`, a mapping, or ``False`` for none) put CORS
    and security headers on every response, the error handler's included; preflights and
    CSP reports are answered in the request's first hook, before rate limits,
    authentication and idempotency keys. The CSP nonce is ``g.csp_nonce`` and
    ``{{ csp_nonce }}`` in templates; :func:`backendkit.flask.security.security_headers`
    changes a view's headers.

    ``conditional_requests`` (``BACKENDKIT_CONDITIONAL_REQUESTS``: ``True``, a
    :class:`~backendkit.http.ConditionalRequests` or a mapping) tags every 200 GET/HEAD answer
    (the view's own ``ETag``, or one from its bytes) and answers 304 when the client's copy is
    current; ``versioning`` (``BACKENDKIT_VERSIONING``: a :class:`~backendkit.http.Versioning` or
    a mapping) reads each request's API version (``g.api_version``), refuses one not served,
    and puts a deprecated version's headers on its answers. Both are read in the request's
    first hook (a malformed ``If-Match`` is a 400 there) and applied to every response, the
    error handler's included; :mod:`backendkit.flask.http` has ``preconditions()`` and the
    ``@deprecated`` views.
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self._options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Install the request-id hooks and the error handler on ``app``."""
        if EXTENSION in app.extensions:
            raise RuntimeError("backendkit is already installed on this application")
        settings = Settings.from_mapping(app.config, prefix="BACKENDKIT_", **self._options)
        _set_body_limit(app, settings.max_body_size)
        if app.url_map.converters.get("int") is IntegerConverter:  # (for the routes added from now on)
            app.url_map.converters["int"] = WholeNumberConverter
        state = AdapterState(settings, (translations(),))
        install_state(app, state)
        semantics = HttpSemantics.from_settings(settings.conditional_requests, settings.versioning)
        _http.install(app, semantics)
        app.request_class = _request_class(app.request_class)

        # The request's in_flight lives in its WSGI environ: plain dict access, no proxy.
        def begin_request(endpoint: str | None) -> None:
            req = request._get_current_object()  # type: ignore[attr-defined]
            environ = req.environ
            rule = rule_of(req)
            in_flight = state.start_request(
                environ.get(state.environ_key),
                traceparent=environ.get("HTTP_TRACEPARENT"),
                tracestate=environ.get("HTTP_TRACESTATE"),
                method=environ.get("REQUEST_METHOD"),
                peer=environ.get("REMOTE_ADDR"),
                forwarded=state.forwarded_in(environ),
                route=normalize_route(rule),
                path=req.path,
                scheme=environ.get("wsgi.url_scheme", "http"),
                request_size=environ.get("CONTENT_LENGTH"),
            )
            environ[_IN_FLIGHT] = in_flight
            open_channel(environ)
            g.request_id = in_flight.request_id
            if state.security is not None:  # (preflights and CSP reports never get here: AnsweringFirst)
                _security.begin(state, req)
            # Before the body's size: a deprecated version's or route's 413 carries its headers too.
            _http.begin(semantics, req, endpoint)
            limit = req.max_content_length
            if limit is not None and (req.content_length or 0) > limit:
                raise ContentTooLarge()  # declared too large: refused before any view reads it

        def send_request_id(response: Response) -> Response:
            environ = request.environ
            in_flight: InFlight | None = environ.get(_IN_FLIGHT)
            if in_flight is not None:
                headers = response.headers
                headers[state.header] = in_flight.request_id
                queued = close_channel(environ)
                if queued:  # (the CORS and security headers are added around wsgi_app: _security._decorating)
                    add_headers(_Fields(headers), queued)
                environ[_RESPONSE] = (response.status_code, response.calculate_content_length())
            return response

        def finish_http(response: Response) -> Response:
            return _http.finish(semantics, response, _handle_exception)

        def end_request(_exc: BaseException | None) -> None:
            req = request._get_current_object()  # type: ignore[attr-defined]
            environ = req.environ
            in_flight: InFlight | None = environ.pop(_IN_FLIGHT, None)
            if in_flight is None:
                return
            status, size = environ.pop(_RESPONSE, (500, None))
            deprecated = _http.end(environ)
            state.end_request(
                in_flight,
                path=req.path,
                query=environ.get("QUERY_STRING", ""),
                status=status,
                response_size=size,
                user_agent=environ.get("HTTP_USER_AGENT"),
                deprecated=deprecated,
            )

        # First of everything Flask runs for a request (URL value preprocessors come
        # before before-request hooks), last after-request hook: the id covers all others.
        app.url_value_preprocessors.setdefault(None, []).insert(0, lambda endpoint, values: begin_request(endpoint))
        # After every other after-request hook (idempotency keys keep the 200, not its 304), before the id's.
        app.after_request_funcs.setdefault(None, []).insert(0, finish_http)
        app.after_request_funcs[None].insert(0, send_request_id)
        app.teardown_request_funcs.setdefault(None, []).insert(0, end_request)
        # Registered for Exception, so routing 404/405 and every HTTPException
        # come here too; Flask itself keeps routing redirects out of error handlers.
        app.register_error_handler(Exception, _handle_exception)
        if state.security is not None:
            app.context_processor(_security.csp_nonce)  # {{ csp_nonce }}
            app.wsgi_app = _security.AnsweringFirst(app.wsgi_app, state)  # type: ignore[method-assign]
        _every_request(app, settings)


def _every_request(app: Flask, settings: Settings) -> None:
    """The settings that turn a piece on for every request: rate limits, authentication, idempotency keys.

    Each is what its function does when called by hand (``limit_every_request``,
    ``Auth`` with ``name_every_user``, ``idempotent_every_request``), in the order
    Django's middleware runs them: limits, then the user, then the key scoped by the user.
    """
    if settings.rate_limits is not None:
        from backendkit.flask.ratelimit import limit_every_request

        limit_every_request(app, settings.rate_limits)
    if settings.auth is not None:
        from backendkit.auth import BearerAuth, CredentialVerifier, JWTVerifier
        from backendkit.flask.auth import Auth, name_every_user

        if not isinstance(settings.auth, (JWTVerifier, BearerAuth, CredentialVerifier)):
            raise ConfigurationError(
                "BACKENDKIT_AUTH must be a JWTVerifier, an APIKeyVerifier or a BearerAuth, "
                f"not {type(settings.auth).__name__}"
            )
        Auth(settings.auth).init_app(app)
        name_every_user(app)
    if settings.idempotency is not None:
        from backendkit.flask.idempotency import idempotent_every_request
        from backendkit.idempotency import Idempotency

        if not isinstance(settings.idempotency, Idempotency):
            raise ConfigurationError(
                f"BACKENDKIT_IDEMPOTENCY must be an Idempotency, not {type(settings.idempotency).__name__}"
            )
        idempotent_every_request(app, settings.idempotency)


def _set_body_limit(app: Flask, limit: int | None) -> None:
    """``MAX_BODY_SIZE`` is Flask's ``MAX_CONTENT_LENGTH``, which werkzeug and our request class enforce."""
    if limit is None:
        return
    configured = app.config.get("MAX_CONTENT_LENGTH")
    if configured is None:
        app.config["MAX_CONTENT_LENGTH"] = limit
    elif configured != limit:
        raise ConfigurationError(
            f"BACKENDKIT_MAX_BODY_SIZE ({limit}) and MAX_CONTENT_LENGTH ({configured}) disagree; set one of them"
        )


def _handle_exception(raised: Exception) -> Response:
    state = state_of(current_app)
    if isinstance(raised, HTTPException) and (raised.response is not None or (raised.code or 0) < 400):
        # abort(401, response=...) carries the app's own answer; a 3xx is no error.
        response: Response = raised.get_response()  # type: ignore[assignment]
        return response
    if isinstance(raised, NotModified):  # a view's own revalidation (backendkit.http.check)
        return _http.not_modified_response(raised.headers)
    exc: BaseException = raised
    if isinstance(raised, MethodNotAllowed) and raised is request.routing_exception:
        exc = allowed_for_this_url(raised)
    if isinstance(raised, InternalServerError) and raised.original_exception is not None:
        exc = raised.original_exception  # an error raised after the view, re-wrapped by Flask
    handled = state.handle(exc, method=request.method, path=request.path)
    if handled.unhandled:  # error reporters (Sentry's Flask integration...) listen for this
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        got_request_exception.send(app, _async_wrapper=app.ensure_sync, exception=exc)
    rendered = handled.response
    response = current_app.response_class(rendered.body, status=rendered.status, headers=list(rendered.headers))
    in_flight: InFlight | None = request.environ.get(_IN_FLIGHT)
    if in_flight is not None:
        # Set here as well: when an after-request hook is what failed, Flask
        # re-runs the hooks on this response and stops at the failing one again.
        response.headers[state.header] = in_flight.request_id
    return response


def parse_json(model: type[M]) -> M:
    """Parse and validate the current request's JSON body with a pydantic model.

    Answers as FastAPI does for a JSON body: ``UnsupportedMediaType`` (415) for a
    body not declared as JSON, ``MalformedJSON`` (400), ``ValidationFailed`` (422);
    the extension renders them.
    """
    return parse_model(model, request.get_data(cache=True), request.content_type)


__all__ = ["BackendKit", "parse_json", "translations"]
