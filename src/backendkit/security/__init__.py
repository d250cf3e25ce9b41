"""CORS and security headers on every response the application sends, errors included.

Two settings turn them on, the same on every adapter: ``CORS`` (a :class:`CORS`,
or a mapping of its arguments; none by default) and ``SECURITY_HEADERS`` (on by
default with :class:`SecurityHeaders`'s values; a :class:`SecurityHeaders`, a
mapping, or ``None`` for none). The adapters answer preflights before
authentication, rate limits and idempotency keys, and put the headers on the
404s, 405s, 401s, 429s and 500s they render too.

Example:
    >>> from backendkit.security import CORS
    >>> cors = CORS(allow_origins=["https://app.example.com", "https://*.example.com"], allow_credentials=True)
    >>> cors.preflight("https://a.example.com", "PUT", "authorization, content-type").allowed
    True
    >>> cors.preflight("https://example.com.evil.test", "PUT", None).reason
    "the origin 'https://example.com.evil.test' is not allowed"
"""

from __future__ import annotations

from backendkit.security._core.cors import (
    CORS,
    DEFAULT_EXPOSED,
    DEFAULT_HEADERS,
    DEFAULT_METHODS,
    Preflight,
)
from backendkit.security._core.csp import API_POLICY, CSP, HTML_POLICY
from backendkit.security._core.headers import SecurityHeaders, route_overrides
from backendkit.security._core.origins import OriginMatcher, normalize_origin
from backendkit.security._core.reports import parse_reports, redact_url
from backendkit.security._exchange import Exchange, HttpSecurity, Nonce

__all__ = [
    "API_POLICY",
    "CORS",
    "CSP",
    "DEFAULT_EXPOSED",
    "DEFAULT_HEADERS",
    "DEFAULT_METHODS",
    "HTML_POLICY",
    "Exchange",
    "HttpSecurity",
    "Nonce",
    "OriginMatcher",
    "Preflight",
    "SecurityHeaders",
    "normalize_origin",
    "parse_reports",
    "redact_url",
    "route_overrides",
]
