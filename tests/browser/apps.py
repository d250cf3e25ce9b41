"""The examples as the browser tests serve them, with the routes only these tests add.

Each example is built as ``python -m examples.<app>`` builds it, with the allowed
origins in ``BACKENDKIT_EXAMPLE_CORS_ORIGINS``; the tests add

- ``GET /boom``: an exception that escapes (the 500);
- ``PUT``/``DELETE /guarded``: bearer authentication, behind a site-wide rate limit that
  counts every request the application sees (its ``RateLimit`` says whether a preflight
  was counted);
- ``GET /page``: an HTML page with an inline script carrying the request's CSP nonce and
  one without it;

and the security headers with a CSP report endpoint (``SecurityHeaders(report_path=...)``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from backendkit.auth import HMACKey, issue
from backendkit.ratelimit import Limit, SlidingWindow
from backendkit.security import CORS, SecurityHeaders
from examples import _auth

ORIGINS_ENV = "BACKENDKIT_EXAMPLE_CORS_ORIGINS"
REPORT_PATH = "/csp-report"
SITE_POLICY = "site"  # the site-wide limit's name in RateLimit
SITE_QUOTA = 1000
BUG = "browser-boom-4c1e"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>nonce</title>
<script nonce="{nonce}">
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.violations.push(
  {{directive: e.effectiveDirective, blocked: e.blockedURI, disposition: e.disposition}}));
window.nonced = true;
</script>
<script>window.unnonced = true;</script>
</head><body>page</body></html>"""


def token(roles: tuple[str, ...] = ("editor",)) -> str:
    """A bearer token every example accepts (the example's HS256 secret)."""
    return issue(
        HMACKey(_auth.secret()),
        "browser-user",
        issuer=_auth.ISSUER,
        audience=_auth.AUDIENCE,
        claims={"roles": list(roles), "scope": ""},
    )


def security_headers() -> SecurityHeaders:
    return SecurityHeaders(report_path=REPORT_PATH)


def site_limit() -> Limit:
    return Limit(SlidingWindow(f"{SITE_QUOTA}/minute", name=SITE_POLICY))


def cors_from_env() -> CORS:
    """What the examples build from ``BACKENDKIT_EXAMPLE_CORS_ORIGINS`` (used only where one does not yet)."""
    origins = [o.strip() for o in os.environ.get(ORIGINS_ENV, "").split(",") if o.strip()]
    return CORS(allow_origins=origins, allow_credentials=True)


@contextmanager
def passing(module: Any, name: str, **options: Any) -> Iterator[None]:
    """``module.name`` called with ``options`` too while the example builds its app (its own arguments win)."""
    original = getattr(module, name)
    setattr(module, name, functools.partial(original, **options))
    try:
        yield
    finally:
        setattr(module, name, original)


def flask_app() -> Any:
    from flask import Response, g, jsonify, request

    from backendkit.flask.auth import require
    from examples import flask_app as example

    def build(**options: Any) -> Any:
        with passing(example, "BackendKit", security_headers=security_headers(), rate_limits=site_limit(), **options):
            return example.create_app()

    app = build()
    if cors_of(app.extensions["backendkit"].security) is None:  # the example does not read the env yet
        app = build(cors=cors_from_env())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(BUG)

    @app.route("/guarded", methods=["PUT", "DELETE"])
    @require()
    def guarded() -> Any:
        return jsonify(method=request.method)

    @app.get("/page")
    def page() -> Response:
        return Response(PAGE.format(nonce=g.csp_nonce), content_type="text/html; charset=utf-8")

    return app


@contextmanager
def django_settings() -> Iterator[None]:
    """The Django example's settings, with the browser tests' routes, limit and headers, while the block runs."""
    from django.conf import settings
    from django.test import override_settings

    from backendkit.django._state import get_state

    config = {**settings.BACKENDKIT, "SECURITY_HEADERS": security_headers(), "RATE_LIMITS": site_limit()}
    middleware = [*settings.MIDDLEWARE, "backendkit.django.ratelimit.RateLimitMiddleware"]
    with override_settings(BACKENDKIT=config, MIDDLEWARE=middleware, ROOT_URLCONF="tests.browser.django_urls"):
        if cors_of(get_state().security) is None:  # the example does not read the env yet
            with override_settings(BACKENDKIT={**config, "CORS": cors_from_env()}):
                yield
        else:
            yield


def cors_of(security: Any) -> Any:
    return None if security is None else security.cors
