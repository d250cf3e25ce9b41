"""One request's CORS and security headers, as every adapter applies them.

:class:`HttpSecurity` is built once per application from the settings;
:meth:`HttpSecurity.begin` looks at one request (its method, path and a few
headers) and returns an :class:`Exchange`, which says whether the request is a
preflight or a CSP report the adapter answers itself, holds the request's nonce,
and adds the headers to whatever response goes out (:meth:`Exchange.decorate`).
The decisions are the pure core's; this module adds the nonce (from the OS
random source), the clock and the log.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from backendkit._headers import HeaderTarget
from backendkit.errors import ConfigurationError, ContentTooLarge, Forbidden, MethodNotAllowed, TooManyRequests
from backendkit.security._core.cors import CORS, Preflight
from backendkit.security._core.csp import CSP
from backendkit.security._core.headers import SecurityHeaders, overrides_use_nonce
from backendkit.security._core.reports import ReportBudget, parse_reports
from backendkit.security._core.setting import built

Header = tuple[str, str]
OVERRIDES = "backendkit.security_overrides"
"""The key of a route's header changes in the request's scope, environ or ``META``."""

report_logger = logging.getLogger("backendkit.security.csp")

MAX_PREFLIGHTS = 256
"""Preflight answers kept per application (the core decides each once; they are forgotten all at once when full).

Measured (benchmarks/security_bench.py, 2026-12-06): a preflight's CORS and security work, 9.8 us decided
each time, 4.3 us remembered."""


def store_overrides(carrier: MutableMapping[str, Any], overrides: Mapping[str, str | CSP | None]) -> None:
    """Record a route's header changes (:func:`route_overrides`) in the request's scope, environ or ``META``.

    Changes made before (a router's) stay unless this route changes the same header.
    """
    present = carrier.get(OVERRIDES)
    carrier[OVERRIDES] = {**present, **overrides} if present else overrides


class Nonce:
    """This request's CSP nonce, made the first time it is read (``str(nonce)``, or in a template).

    Templates write it as ``{{ csp_nonce }}``; it is safe to write unescaped
    (URL-safe base64), so Jinja2's autoescape leaves it as it is.
    """

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value: str | None = None

    @property
    def value(self) -> str:
        """The nonce: 128 random bits, URL-safe base64."""
        if self._value is None:
            self._value = secrets.token_urlsafe(16)
        return self._value

    @property
    def used(self) -> bool:
        """Whether it has been read (a page may carry it)."""
        return self._value is not None

    def __str__(self) -> str:
        return self.value

    def __html__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Nonce({self._value!r})"


def cors_of(value: Any) -> CORS | None:
    """The ``CORS`` setting: ``None``, a :class:`CORS`, or a mapping of its arguments."""
    if value is None or isinstance(value, CORS):
        return value
    if isinstance(value, Mapping):
        return built(CORS, value, "CORS")
    raise ConfigurationError(f"CORS is a backendkit.security.CORS, a mapping of its arguments or None, not {value!r}")


class HttpSecurity:
    """An application's CORS policy and security headers, with the request-id header allowed and exposed."""

    __slots__ = ("_preflights", "budget", "cors", "headers", "report_path")

    def __init__(
        self,
        cors: CORS | None,
        headers: SecurityHeaders | None,
        *,
        request_id_header: str,
        request_headers: Sequence[str] = (),
    ) -> None:
        allowed = [request_id_header, *request_headers]
        self.cors = cors.with_headers(allow=allowed, expose=[request_id_header]) if cors else None
        self.headers = headers
        self.report_path = headers.report_path if headers is not None else None
        self.budget = ReportBudget(headers.reports_per_minute) if headers is not None else None
        # The answers to the preflights seen (a browser sends the same few again and again), by what decides them.
        self._preflights: dict[tuple[str, str, str | None, bool], Preflight] = {}

    @classmethod
    def from_settings(
        cls, cors: Any, security_headers: Any, *, request_id_header: str, request_headers: Sequence[str] = ()
    ) -> HttpSecurity | None:
        """From the ``CORS`` and ``SECURITY_HEADERS`` settings; ``None`` when both are off.

        ``request_headers``: more request headers backendkit reads, for preflights to allow (the
        API version's, when ``VERSIONING`` reads it from a header).
        """
        policy = cors_of(cors)
        headers = SecurityHeaders.from_setting(security_headers)
        if policy is None and headers is None:
            return None
        return cls(policy, headers, request_id_header=request_id_header, request_headers=request_headers)

    def begin(
        self,
        method: str,
        path: str,
        *,
        origin: str | None,
        https: bool,
        authorization: bool,
        request_method: str | None = None,
        request_headers: str | None = None,
        private_network: bool = False,
    ) -> Exchange:
        """Look at one request: ``origin`` and the ``Access-Control-Request-*`` values as sent (or ``None``)."""
        preflight = None
        cors = self.cors
        if cors is not None and method == "OPTIONS" and origin is not None and request_method is not None:
            asked = (origin, request_method, request_headers, private_network)
            preflight = self._preflights.get(asked)
            if preflight is None:
                preflight = cors.preflight(origin, request_method, request_headers, private_network)
                # (any page can send anything: only short ones are kept, so memory stays bounded)
                if len(origin) + len(request_method) + len(request_headers or "") <= 1024:
                    if len(self._preflights) >= MAX_PREFLIGHTS:
                        self._preflights.clear()
                    self._preflights[asked] = preflight
        report = path == self.report_path  # any method: the endpoint answers all but POST with a 405
        return Exchange(self, origin, https, authorization, preflight, report)

    def take_report(self, body: bytes, content_type: str | None, client: str | None, method: str = "POST") -> int:
        """Log the violations in a report body; the status to answer (204), or raise the error to render.

        Raises:
            MethodNotAllowed: Not a ``POST`` (the endpoint takes nothing else).
            ContentTooLarge: Over ``report_max_bytes``.
            TooManyRequests: The client has no report left this minute (``reports_per_minute``
                counts violations: a body with more than are left has the rest dropped).
            UnsupportedMediaType, MalformedJSON: Not a report.
        """
        assert self.headers is not None
        assert self.budget is not None
        if method != "POST":
            raise MethodNotAllowed(["POST"])
        if len(body) > self.headers.report_max_bytes:
            raise ContentTooLarge()
        # Every body spends one report of the client's budget, a refused one too (a loop cannot flood),
        # and each violation past its first one more: one body may carry twenty.
        key, now = client or "-", time.monotonic()
        if not self.budget.take(key, now):
            raise TooManyRequests(retry_after=60 / self.headers.reports_per_minute)
        violations = parse_reports(body, content_type)
        granted = 1 + self.budget.take(key, now, len(violations) - 1) if len(violations) > 1 else 1
        for violation in violations[:granted]:
            directive = violation.get("directive", "?")
            blocked = violation.get("blocked_uri", "?")
            page = violation.get("document_uri", "?")
            report_logger.warning(
                "CSP violation: %s blocked %s on %s", directive, blocked, page, extra={"csp": violation}
            )
        return 204


class Exchange:
    """One request's CORS and security-header decisions."""

    __slots__ = ("authorization", "https", "nonce", "origin", "preflight", "report", "security")

    def __init__(
        self,
        security: HttpSecurity,
        origin: str | None,
        https: bool,
        authorization: bool,
        preflight: Preflight | None,
        report: bool,
    ) -> None:
        self.security = security
        self.origin = origin
        self.https = https
        self.authorization = authorization
        self.preflight = preflight
        self.report = report
        self.nonce = Nonce()

    def preflight_headers(self) -> tuple[Header, ...]:
        """The headers of the preflight's answer (its CORS headers; :meth:`decorate` adds the rest)."""
        assert self.preflight is not None
        return self.preflight.headers

    def refusal(self) -> Forbidden:
        """The error a refused preflight is answered with (403 ``CORS_REFUSED``), the same on every adapter."""
        assert self.preflight is not None
        return Forbidden(f"CORS preflight refused: {self.preflight.reason}.", code="CORS_REFUSED")

    def decorate(self, target: HeaderTarget, overrides: Mapping[str, str | CSP | None] | None = None) -> None:
        """Add the CORS and security headers to a response about to go out.

        CORS headers replace any the response has, but for the two lists: ``Vary``
        gets ``Origin`` added, and ``Access-Control-Expose-Headers`` keeps what the
        response exposed already (pagination's ``Link``, an app's own). A security
        header the response sets itself is left as it is. ``overrides`` are the
        route's changes (header name to a value or a ``CSP``, ``None`` to send none).
        """
        security = self.security
        if security.cors is not None:
            cors_headers = self.preflight.headers if self.preflight is not None else ()
            if self.preflight is None:
                cors_headers = security.cors.response_headers(self.origin)
            for name, value in cors_headers:
                if name in _LISTS:
                    _merge(target, name, value)
                else:
                    target[name] = value
        headers = security.headers
        if headers is None:
            return
        content_type = target.get("Content-Type") or ""
        html = content_type.startswith("text/html")
        nonce = self.nonce.value if html and (headers.html_uses_nonce or overrides_use_nonce(overrides)) else None
        chosen = headers.for_response(
            html=html, https=self.https, authenticated=self.authorization, nonce=nonce, overrides=overrides
        )
        setdefault = target.setdefault
        for name, value in chosen:
            setdefault(name, value)


_LISTS = frozenset({"Vary", "Access-Control-Expose-Headers"})


def _merge(target: HeaderTarget, name: str, value: str) -> None:
    """Add the header names in ``value`` to the response's list ``name`` (none twice; ``*`` covers all)."""
    present = target.get(name)
    if not present:
        target[name] = value
        return
    have = {part.strip().lower() for part in present.split(",")}
    if "*" in have:
        return
    missing = [part for part in value.split(", ") if part.lower() not in have]
    if missing:
        target[name] = ", ".join([present, *missing])
