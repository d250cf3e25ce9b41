"""Settings shared by every adapter, read from a plain mapping.

Flask reads them from ``app.config`` with the ``BACKENDKIT_`` prefix, Django
from the ``BACKENDKIT`` settings dict, Starlette/FastAPI from keyword arguments.
Unknown keys are an error, so a typo cannot silently fall back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from backendkit.context import REQUEST_ID_HEADER, is_valid_request_id
from backendkit.errors import ConfigurationError, ErrorHandler, ExceptionRegistry, Renderer
from backendkit.proxies import TrustedProxies

PROBE_PATHS = ("/livez", "/readyz", "/startupz", "/healthz")
"""Where the health probes are served by default (``backendkit.health``); rate limits exempt them and the
access log writes them at DEBUG."""


@dataclass(frozen=True)
class Settings:
    """The settings common to all adapters.

    Attributes:
        error_format: ``"envelope"``, ``"problem"`` or a renderer callable.
        debug_errors: Show exception details in 500 bodies (development only).
        request_id_header: The header that carries the request id.
        trust_request_id: Keep a valid incoming request id instead of making a new one.
        registry: The exception registry; the process-wide one when ``None``.
        access_log: Log one line per request on the ``backendkit.access`` logger.
        access_log_exclude: Paths never access-logged (exact match).
        access_log_quiet: Paths whose access lines are written at DEBUG, whatever their
            status (exact match): the health probes by default, so probe noise does not
            drown the logs.
        max_body_size: The largest request body accepted, in bytes; a larger one is
            answered 413 ``PAYLOAD_TOO_LARGE``. ``None`` (the default) leaves it to the
            framework and the server, as they do without backendkit.
        rate_limits: Rate limits on every request: a ``backendkit.ratelimit.Limit``, a list
            of them (Django: or a dotted path to either). Flask checks them before every
            request; Django's ``RateLimitMiddleware`` does (system check E005 without it).
            Starlette and FastAPI refuse it: there the app adds the middleware where it
            belongs. ``None`` for none.
        auth: Bearer authentication: a ``backendkit.auth.JWTVerifier``, a
            ``backendkit.apikeys.APIKeyVerifier`` or a ``BearerAuth`` taking both
            (Django: or a dotted path to one). Flask installs its ``Auth`` and names
            every request's user; Django's ``AuthMiddleware``, ``@require`` and DRF read
            it. Starlette and FastAPI refuse it (``JWTBackend``, ``Auth(...).require()``).
        idempotency: Idempotency keys on every covered request: a
            ``backendkit.idempotency.Idempotency`` (Django: or a dotted path to one).
            Flask covers every request; Django's ``IdempotencyMiddleware`` does (E005
            without it). Starlette and FastAPI refuse it (``IdempotencyMiddleware``,
            ``IdempotentRoutes``).

    Every key is honoured or refused on every adapter, never ignored (docs/architecture.md,
    "Settings: honoured or refused"; tests/adapters/test_settings_everywhere.py).
        trusted_proxies: The proxies that may name the client in a forwarding header:
            a list of their addresses or networks, a number of hops, a
            ``backendkit.proxies.TrustedProxies`` (to read ``Forwarded`` instead of
            ``X-Forwarded-For``), or ``None`` (the default: the socket peer is the
            client). One client address, for rate-limit keys, idempotency scopes
            and logs alike.
        cors: Cross-origin resource sharing: a ``backendkit.security.CORS``, a mapping of
            its arguments (Django: or a dotted path to one), or ``None`` (the default: no
            CORS headers, browsers keep other origins' pages out).
        security_headers: The security headers on every response: ``True`` (the default:
            ``backendkit.security.SecurityHeaders()``), a ``SecurityHeaders``, a mapping of
            its arguments (Django: or a dotted path), or ``None`` for none.
        conditional_requests: The conditional layer (``backendkit.http``): ``True``, a
            ``ConditionalRequests`` or a mapping of its arguments tags 200 GET/HEAD answers
            with a strong ETag and answers 304 when the client's copy is current;
            ``None`` (the default) leaves responses as the routes make them.
        versioning: API versions (``backendkit.http.Versioning`` or a mapping of its
            arguments; Django: or a dotted path): the version each request asked for, a
            404/400 ``UNSUPPORTED_VERSION`` for one not served, a deprecated version's
            headers. ``None`` (the default) for none.
    """

    error_format: str | Renderer = "envelope"
    debug_errors: bool = False
    request_id_header: str = REQUEST_ID_HEADER
    trust_request_id: bool = True
    registry: ExceptionRegistry | None = None
    access_log: bool = True
    access_log_exclude: tuple[str, ...] = ()
    access_log_quiet: tuple[str, ...] = PROBE_PATHS
    max_body_size: int | None = None
    rate_limits: Any = None
    auth: Any = None
    idempotency: Any = None
    trusted_proxies: Any = None
    cors: Any = None
    security_headers: Any = True
    conditional_requests: Any = None
    versioning: Any = None

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, prefix: str = "", **overrides: Any) -> Settings:
        """Read the upper-case keys (``ERROR_FORMAT``...) behind ``prefix``; ``overrides`` win."""
        known = {f.name.upper(): f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if not key.startswith(prefix):
                continue
            name = key[len(prefix) :]
            if name not in known:
                raise ConfigurationError(f"unknown backendkit setting {key!r}; known: {sorted(known)}")
            values[known[name]] = value
        # A None keyword is "not given" (the config's value stands), but for the one key whose None is a
        # choice: security_headers=None turns the security headers off.
        values.update({k: v for k, v in overrides.items() if v is not None or k == "security_headers"})
        for paths in ("access_log_exclude", "access_log_quiet"):
            if isinstance(values.get(paths), (list, set, frozenset)):
                values[paths] = tuple(values[paths])
        if "trusted_proxies" in values:
            values["trusted_proxies"] = _trusted_proxies(values["trusted_proxies"])
        try:
            return replace(cls(), **values).validated()
        except TypeError as exc:
            raise ConfigurationError(str(exc)) from exc

    def validated(self) -> Settings:
        """Check every value; raise :class:`ConfigurationError` on the first bad one."""
        for name in ("access_log_exclude", "access_log_quiet"):
            paths: object = getattr(self, name)
            if not isinstance(paths, tuple) or not all(isinstance(p, str) for p in paths):
                raise ConfigurationError(f"{name.upper()} must be a list of paths")
        for name in ("debug_errors", "trust_request_id", "access_log"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name.upper()} must be True or False")
        size: object = self.max_body_size
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
            raise ConfigurationError("MAX_BODY_SIZE must be a number of bytes (at least 1) or None")
        header = self.request_id_header
        if not isinstance(header, str) or not header or not is_valid_request_id(header):
            raise ConfigurationError("REQUEST_ID_HEADER must be a header name")
        if not isinstance(self.error_format, str) and not callable(self.error_format):
            raise ConfigurationError("ERROR_FORMAT must be 'envelope', 'problem' or a callable")
        _trusted_proxies(self.trusted_proxies)
        self.error_handler()
        return self

    def error_handler(self) -> ErrorHandler:
        """The :class:`ErrorHandler` these settings describe."""
        try:
            return ErrorHandler(renderer=self.error_format, registry=self.registry, debug=self.debug_errors)
        except ValueError as exc:
            raise ConfigurationError(f"ERROR_FORMAT: {exc}") from exc


def _trusted_proxies(value: object) -> TrustedProxies:
    try:
        return TrustedProxies.from_setting(value)
    except ValueError as exc:
        raise ConfigurationError(f"TRUSTED_PROXIES: {exc}") from exc
