"""What the adapters' security tests expect on the wire: one CORS policy, one set of security headers.

The values are written out here, not computed by backendkit, so a test fails when
an adapter (or the core) sends anything else. Header names are lower-case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from backendkit.security import CSP, SecurityHeaders

ORIGIN = "https://app.example.com"
REPORT_PATH = "/csp-report"
CORS_SETTING: dict[str, Any] = {"allow_origins": [ORIGIN, "https://*.example.com"], "allow_credentials": True}
HTML_POLICY = CSP(default_src=["'self'"], script_src=["'self'", CSP.NONCE], object_src=["'none'"])


def security_setting(**changes: Any) -> SecurityHeaders:
    """The security headers the tests configure: an HTML policy with a nonce, a small report budget."""
    values: dict[str, Any] = {
        "html_policy": HTML_POLICY,
        "report_path": REPORT_PATH,
        "report_max_bytes": 400,
        "reports_per_minute": 3,
    }
    return SecurityHeaders(**{**values, **changes})


API_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
    ),
    "x-frame-options": "DENY",
}
EXPOSED_NAMES = (
    "Deprecation",
    "ETag",
    "Idempotent-Replayed",
    "Last-Modified",
    "Link",
    "Location",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "Sunset",
    "WWW-Authenticate",
    "X-Request-ID",
)
EXPOSED = ", ".join(EXPOSED_NAMES)
CORS_HEADERS = {
    "access-control-allow-origin": ORIGIN,
    "access-control-allow-credentials": "true",
    "access-control-expose-headers": EXPOSED,
}
HSTS = "max-age=31536000; includeSubDomains"
PREFLIGHT_HEADERS = {
    "access-control-allow-origin": ORIGIN,
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
    "access-control-max-age": "600",
}


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    """A response's headers with lower-case names (repeated lines joined as a client reads them)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def vary(headers: Mapping[str, str]) -> set[str]:
    """The names in ``Vary``, lower-case."""
    return {part.strip().lower() for part in headers.get("vary", "").split(",") if part.strip()}


def assert_cors_and_security(headers: Mapping[str, str]) -> None:
    """The allowed origin's CORS headers and the API security headers, as any JSON response to it carries."""
    for name, value in {**CORS_HEADERS, **API_HEADERS}.items():
        assert headers.get(name) == value, (name, headers.get(name))
    assert "origin" in vary(headers)
    assert "strict-transport-security" not in headers  # (plain HTTP)


NONCE_IN_PAGE = re.compile(r'<script nonce="([A-Za-z0-9_-]+)">')


def nonce_of_policy(policy: str) -> str:
    """The nonce in a CSP header value."""
    found = re.search(r"'nonce-([A-Za-z0-9_-]+)'", policy)
    assert found is not None, policy
    return found.group(1)


def csp_report(document: str = f"{ORIGIN}/page?token=s3cret#frag") -> bytes:
    """A violation report in the older ``application/csp-report`` shape."""
    body = (
        '{"csp-report": {"document-uri": "%s", "blocked-uri": "inline", '
        '"effective-directive": "script-src-elem", "script-sample": "alert(1)"}}'
    )
    return (body % document).encode()
