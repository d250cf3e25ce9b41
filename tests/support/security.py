"""What every response of an app with CORS and the default security headers carries, checked in one place."""

from __future__ import annotations

import re
from collections.abc import Mapping

NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def vary_names(headers: Mapping[str, str]) -> list[str]:
    return [part.strip().lower() for part in headers.get("vary", "").split(",") if part.strip()]


def assert_cors_and_security_headers(headers: Mapping[str, str], origin: str, *, credentials: bool = True) -> None:
    """An allowed ``origin`` may read the response (and its request id); the security headers are on it.

    ``headers`` with lower-case names (a socket reply's) or case-insensitive (httpx's).
    """
    assert headers.get("access-control-allow-origin") == origin, dict(headers)
    assert (headers.get("access-control-allow-credentials") == "true") is credentials
    exposed = [h.strip().lower() for h in headers.get("access-control-expose-headers", "").split(",")]
    assert {"x-request-id", "ratelimit", "retry-after", "www-authenticate"} <= set(exposed), exposed
    assert "origin" in vary_names(headers)
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("referrer-policy") == "no-referrer"
    assert headers.get("cross-origin-opener-policy") == "same-origin"
    assert headers.get("content-security-policy") == API_CSP
    assert headers.get("x-request-id")


def nonce_of(policy: str) -> str:
    found = NONCE.findall(policy)
    assert found, policy
    assert len(set(found)) == 1, policy  # one nonce per response, wherever it appears
    return str(found[0])
