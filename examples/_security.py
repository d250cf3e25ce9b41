"""CORS and security headers in every example, and the one HTML page they serve (``GET /``).

``BACKENDKIT_EXAMPLE_CORS_ORIGINS`` lists the origins whose pages may call the
API with credentials, comma-separated (``https://app.example.com,https://*.example.com``);
none by default, so browsers keep every other origin's pages out. The security
headers are backendkit's defaults, with CSP reports taken at ``POST /csp-report``
into the JSON log.
"""

from __future__ import annotations

import os

from backendkit.security import CORS, HTML_POLICY, SecurityHeaders

REPORT_PATH = "/csp-report"

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>tasks</title></head>
<body>
<h1>tasks</h1>
<p id="nonced">waiting</p>
<p id="unnonced">waiting</p>
<script nonce="{nonce}">document.getElementById("nonced").textContent = "ran";</script>
<!-- No nonce: the policy blocks this one, and the browser reports it to /csp-report. -->
<script>document.getElementById("unnonced").textContent = "ran";</script>
</body>
</html>
"""
"""The page: one inline script carrying this response's nonce (it runs), one without (it is blocked)."""


def origins() -> list[str]:
    """The allowed origins from ``BACKENDKIT_EXAMPLE_CORS_ORIGINS`` (none when unset or empty)."""
    raw = os.environ.get("BACKENDKIT_EXAMPLE_CORS_ORIGINS", "")
    return [origin.strip() for origin in raw.split(",") if origin.strip()]


def cors() -> CORS | None:
    """The examples' CORS policy: the listed origins, with credentials (``None`` when none are listed)."""
    allowed = origins()
    return CORS(allow_origins=allowed, allow_credentials=True) if allowed else None


PAGE_POLICY = HTML_POLICY.with_report(REPORT_PATH)
"""The policy of ``GET /``, given on that route: only the scripts with this response's nonce run.

Not the app-wide ``html_policy``: FastAPI's ``/docs`` loads Swagger UI from a CDN and runs an inline
script without a nonce, which this policy would block.
"""


PAGE_HEADERS = {"content_security_policy": PAGE_POLICY}
"""``GET /``'s change to the security headers, as each adapter's ``security_headers(**PAGE)`` takes it."""


def security_headers() -> SecurityHeaders:
    """backendkit's default security headers, with the CSP report endpoint on."""
    return SecurityHeaders(report_path=REPORT_PATH)


def page(nonce: object) -> str:
    """The HTML page with this request's nonce."""
    return PAGE.format(nonce=nonce)
