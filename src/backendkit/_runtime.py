"""What the adapters share beyond the pure core: per-app state, the requests in flight, the logs.

This is the only place in the error and logging path that touches the outside
world (the OS random source, the clock and the logging system); the core stays
pure, and each adapter keeps to translating between its framework and this module.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from contextvars import Token
from dataclasses import dataclass
from typing import Any

from backendkit._settings import Settings
from backendkit.context import (
    RequestFacts,
    bind_request_facts,
    choose_request_id,
    parse_traceparent,
    request_facts_var,
    request_id_var,
)
from backendkit.errors import APIError, ErrorHandler, ErrorResponse, ExceptionRegistry, HandledError
from backendkit.http import Versioning, versioning_setting
from backendkit.logging._core.access import ACCESS_LOGGER, access_entry, access_level
from backendkit.observability._core.events import RequestEnd, RequestStart
from backendkit.observability._hub import Observer, hub
from backendkit.proxies import TrustedProxies, client_address, forwarded_https
from backendkit.security._exchange import Exchange, HttpSecurity

error_logger = logging.getLogger("backendkit.errors")
access_logger = logging.getLogger(ACCESS_LOGGER)


def new_request_id() -> str:
    """A fresh request id: 32 hex characters (128 random bits)."""
    return os.urandom(16).hex()


def environ_key(header: str) -> str:
    """The WSGI environ (and Django ``META``) key of a request header."""
    return "HTTP_" + header.upper().replace("-", "_")


@dataclass
class InFlight:
    """One request in flight: its id, its log facts, when it started, what to reset."""

    request_id: str
    facts: RequestFacts
    started: float
    id_token: Token[str | None]
    facts_token: Token[RequestFacts | None]
    finished: float | None = None
    observers: tuple[Observer, ...] = ()
    """The observers told of its start (none: nothing is observed), and what each returned."""
    tokens: tuple[object, ...] = ()
    request_size: int | None = None

    def finish(self) -> None:
        """The response is out: stop the clock (work after it, such as background tasks, is not timed)."""
        if self.finished is None:
            self.finished = time.perf_counter()


class AdapterState:
    """One application's error handling and request logging, as every adapter keeps it.

    Args:
        settings: The validated settings.
        translations: The framework's own exceptions as API errors.
    """

    def __init__(self, settings: Settings, translations: tuple[ExceptionRegistry, ...] = ()) -> None:
        self.settings = settings
        self.handler: ErrorHandler = settings.error_handler()
        self.translations = translations
        self.header = settings.request_id_header
        self.environ_key = environ_key(self.header)
        self.access_log = settings.access_log
        self.access_log_exclude = frozenset(settings.access_log_exclude)
        self.access_log_quiet = frozenset(settings.access_log_quiet)
        self.trusted_proxies = TrustedProxies.from_setting(settings.trusted_proxies)
        # The one forwarding header to read, as the ASGI scope and the WSGI environ name it (None: read none).
        enabled = self.trusted_proxies.enabled
        self.forwarding_header = self.trusted_proxies.header.encode("latin-1") if enabled else None
        self.forwarding_key = environ_key(self.trusted_proxies.header) if enabled else None
        # CORS and the security headers (None: both off), and the header a trusted proxy names the scheme in.
        self.security = HttpSecurity.from_settings(
            settings.cors,
            settings.security_headers,
            request_id_header=settings.request_id_header,
            request_headers=_version_header(settings.versioning),
        )
        proto = "x-forwarded-proto" if self.trusted_proxies.header == "x-forwarded-for" else "forwarded"
        self.proto_header = proto.encode("latin-1") if enabled else None
        self.proto_key = environ_key(proto) if enabled else None

    def https(self, scheme: str, peer: str | None, proto: str | None, forwarded: str | None = None) -> bool:
        """Whether the request came over HTTPS: to this server, or to the trusted proxy the client reached.

        ``proto`` is the header the proxies name the scheme in, ``forwarded`` the
        forwarding header the settings trust (the hop the client is read from).
        """
        lines = (forwarded,) if forwarded else ()
        return scheme == "https" or forwarded_https(peer, proto, self.trusted_proxies, lines)

    def begin_exchange(self, environ: Mapping[str, Any], *, method: str, path: str, scheme: str) -> Exchange | None:
        """A request's CORS and security headers, read from a WSGI environ (Django's ``META``); ``None`` when off.

        ``path`` is the whole path (a ``report_path`` is one the browser posts to),
        ``scheme`` the one the server (or the framework's proxy setting) saw.
        """
        security = self.security
        if security is None:
            return None
        get = environ.get
        proto = get(self.proto_key) if self.proto_key is not None else None
        return security.begin(
            method,
            path,
            origin=get("HTTP_ORIGIN"),
            https=self.https(scheme, get("REMOTE_ADDR"), proto, self.forwarded_in(environ)),
            authorization="HTTP_AUTHORIZATION" in environ or "HTTP_X_API_KEY" in environ,
            request_method=get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
            request_headers=get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
            private_network=get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true",
        )

    def forwarded_in(self, environ: Mapping[str, Any]) -> str | None:
        """The forwarding header of a WSGI environ (Django's ``META``) that the settings trust, if any."""
        return environ.get(self.forwarding_key) if self.forwarding_key is not None else None

    def start_request(
        self,
        incoming: str | None,
        *,
        traceparent: str | None = None,
        tracestate: str | None = None,
        method: str | None = None,
        peer: str | None = None,
        forwarded: str | None = None,
        route: str | Callable[[], str | None] | None = None,
        user_id: str | Callable[[], str | None] | None = None,
        path: str = "",
        scheme: str | Callable[[], str] = "http",
        request_size: int | str | None = None,
    ) -> InFlight:
        """Choose the request's id, bind it and the request's log facts.

        ``incoming`` is the request-id header's value, several values joined with
        ``","`` (as WSGI servers pass them); such a joined value is never valid,
        so a request with two ids gets a fresh one on every framework.
        ``peer`` is the socket peer and ``forwarded`` the value of the forwarding
        header the ``TRUSTED_PROXIES`` setting names (lines joined with ``","``):
        the client's address is decided here, once, for every piece that names
        the client. ``path``, ``scheme`` (or a function that reads it, called only
        when observed), ``request_size`` (the declared ``Content-Length``) and
        ``tracestate`` are for the observers, if any are installed. Call
        :meth:`end_request` when the request is done.
        """
        request_id = choose_request_id(incoming, trust_incoming=self.settings.trust_request_id, generate=new_request_id)
        client_ip = client_address(peer, (forwarded,) if forwarded else (), self.trusted_proxies)
        facts = RequestFacts(
            method=method, client_ip=client_ip, trace=parse_traceparent(traceparent), route=route, user_id=user_id
        )
        in_flight = InFlight(
            request_id, facts, time.perf_counter(), request_id_var.set(request_id), bind_request_facts(facts)
        )
        # No method: an ASGI WebSocket session, not an HTTP request to measure (it has no status).
        observers = hub.observers  # read once: the end is told to the same observers as the start
        if observers and method is not None and not hub.excluded(path):
            size = _size(request_size)
            in_flight.observers = observers
            in_flight.request_size = size
            start = RequestStart(facts, path, scheme() if callable(scheme) else scheme, size, traceparent, tracestate)
            in_flight.tokens = hub.request_started(observers, start)
        return in_flight

    def end_request(
        self,
        in_flight: InFlight,
        *,
        path: str,
        query: str,
        status: int,
        response_size: int | None,
        user_agent: str | None,
        log_access: bool = True,
        failed: bool = False,
        deprecated: bool = False,
    ) -> None:
        """Tell the observers, write the access-log line (unless excluded) and unbind the request.

        ``deprecated``: the answer carried a ``Deprecation`` header (``backendkit.http``); the
        access line says so (``"deprecated": true``), and the observers count it
        (``backendkit_http_deprecated_requests_total{method,route}``), for who still calls a deprecated route.
        """
        try:
            if in_flight.observers:
                self._observed(in_flight, status, response_size, failed, deprecated)
            quiet = path in self.access_log_quiet or in_flight.facts.probe
            level = logging.DEBUG if quiet else access_level(status, failed=failed)
            if (
                log_access
                and self.access_log
                and path not in self.access_log_exclude
                and access_logger.isEnabledFor(level)
            ):  # build the line only for a logger that will write it
                entry = access_entry(
                    method=in_flight.facts.method or "",
                    path=path,
                    query=query,
                    status=status,
                    duration_ms=((in_flight.finished or time.perf_counter()) - in_flight.started) * 1000,
                    response_size=response_size,
                    user_agent=user_agent,
                    failed=failed,
                    deprecated=deprecated,
                )
                access_logger.log(level, "%s %s %d", entry.method, entry.path, entry.status, extra=entry.fields)
        finally:
            request_facts_var.reset(in_flight.facts_token)
            request_id_var.reset(in_flight.id_token)

    def _observed(
        self, in_flight: InFlight, status: int, response_size: int | None, failed: bool, deprecated: bool
    ) -> None:
        facts = in_flight.facts
        method = facts.method or ""
        route = facts.route if type(facts.route) is str else facts.resolved_route()  # (most adapters know it as text)
        end = RequestEnd(  # positional: built once per observed request, keywords cost more
            method,
            route,
            status,
            (in_flight.finished or time.perf_counter()) - in_flight.started,
            in_flight.request_size,
            0 if method == "HEAD" else response_size,  # no body is sent, whatever was computed
            facts.monitoring and not hub.probes,
            failed,
            deprecated,
        )
        hub.request_finished(in_flight.observers, in_flight.tokens, end)

    def handle(self, exc: BaseException, *, method: str, path: str) -> HandledError:
        """Map and render ``exc`` for the current request, logging it if it is a bug."""
        request_id = request_id_var.get()
        handled = self.handler.handle(exc, request_id=request_id, instance=path, fallbacks=self.translations)
        log_unhandled(exc, handled, request_id=request_id, method=method, path=path)
        return handled

    def log_failure(self, exc: BaseException, *, method: str, path: str) -> None:
        """Log an exception that came too late to answer (the response had started).

        A group of one exception is logged as that exception: Starlette before 0.46
        wraps what a streamed body raised in an anyio task group's ``ExceptionGroup``.
        """
        while _group_of_one(exc):
            exc = exc.exceptions[0]  # type: ignore[attr-defined]
        request_id = request_id_var.get()
        error_logger.error(
            "Unhandled %s after the response to %s %s had started (request_id=%s)",
            type(exc).__name__,
            method,
            path,
            request_id,
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"request_id": request_id, "http_method": method, "http_path": path},
        )

    def render(self, error: APIError, *, path: str) -> ErrorResponse:
        """Render an API error that is already known (no logging: it is not a bug)."""
        return self.handler.render(error, request_id=request_id_var.get(), instance=path)


def _version_header(value: Any) -> tuple[str, ...]:
    """The request header the API version is read from, when ``VERSIONING`` reads one (for CORS preflights)."""
    if not isinstance(value, (Versioning, Mapping)):
        return ()  # (off; or a Django dotted path, which its adapter resolves before it gets here)
    versioning = versioning_setting(value)
    return (versioning.header,) if versioning is not None and versioning.source == "header" else ()


def _size(declared: int | str | None) -> int | None:
    """A declared ``Content-Length`` as a number of bytes; ``None`` when absent or not a plain number."""
    if isinstance(declared, int):
        return declared if declared >= 0 else None
    if declared and declared.isascii() and declared.isdigit() and len(declared) <= 18:
        return int(declared)
    return None


def log_unhandled(exc: BaseException, handled: HandledError, *, request_id: str | None, method: str, path: str) -> None:
    """Log an exception that nothing mapped, with its traceback and the request id."""
    extra = {"request_id": request_id, "http_method": method, "http_path": path}
    if handled.mapper_error is not None:
        error_logger.error(
            "An exception mapper or renderer failed on %s (request_id=%s)",
            type(exc).__name__,
            request_id,
            exc_info=handled.mapper_error,
            extra=extra,
        )
    if not handled.unhandled:
        return
    error_logger.error(
        "Unhandled %s while handling %s %s (request_id=%s)",
        type(exc).__name__,
        method,
        path,
        request_id,
        exc_info=(type(exc), exc, exc.__traceback__),
        extra=extra,
    )


def _group_of_one(exc: BaseException) -> bool:
    """An exception group (the builtin, or the backport anyio uses on Python 3.10) holding one exception."""
    grouped = getattr(exc, "exceptions", None)
    return (
        type(exc).__name__ in ("ExceptionGroup", "BaseExceptionGroup")
        and isinstance(grouped, tuple)
        and len(grouped) == 1
        and isinstance(grouped[0], BaseException)
    )
