"""The examples as the browser tests serve them, with the routes only these tests add.

Each example is built as ``python -m examples.<app>`` builds it, with the allowed
origins in ``BACKENDKIT_EXAMPLE_CORS_ORIGINS`` (its security headers, CSP report
endpoint and HTML page ``GET /`` included); the tests add

- ``GET /boom``: an exception that escapes (the 500);
- ``PUT``/``DELETE /guarded``: bearer authentication, behind a site-wide rate limit that
  counts every request the application sees (its ``RateLimit`` says whether a preflight
  was counted).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from backendkit.auth import HMACKey, issue
from backendkit.ratelimit import Limit, SlidingWindow
from examples import _auth

ORIGINS_ENV = "BACKENDKIT_EXAMPLE_CORS_ORIGINS"
SITE_POLICY = "site"  # the site-wide limit's name in RateLimit
SITE_QUOTA = 1000
BUG = "browser-boom-4c1e"


def token(roles: tuple[str, ...] = ("editor",)) -> str:
    """A bearer token every example accepts (the example's HS256 secret)."""
    return issue(
        HMACKey(_auth.secret()),
        "browser-user",
        issuer=_auth.ISSUER,
        audience=_auth.AUDIENCE,
        claims={"roles": list(roles), "scope": ""},
    )


def site_limit() -> Limit:
    return Limit(SlidingWindow(f"{SITE_QUOTA}/minute", name=SITE_POLICY))


@contextmanager
def allowing(origin: str) -> Iterator[None]:
    """``BACKENDKIT_EXAMPLE_CORS_ORIGINS`` naming ``origin`` while an app is built, as it was afterwards.

    Only while building: the examples read it then, and the tests that run later build
    them without CORS (a response would gain ``Vary: Origin``).
    """
    before = os.environ.get(ORIGINS_ENV)
    os.environ[ORIGINS_ENV] = origin
    try:
        yield
    finally:
        if before is None:
            del os.environ[ORIGINS_ENV]
        else:
            os.environ[ORIGINS_ENV] = before


@contextmanager
def passing(module: Any, name: str, **options: Any) -> Iterator[None]:
    """``module.name`` called with ``options`` too while the example builds its app."""
    original = getattr(module, name)
    setattr(module, name, functools.partial(original, **options))
    try:
        yield
    finally:
        setattr(module, name, original)


def flask_app() -> Any:
    from flask import jsonify, request

    from backendkit.flask.auth import require
    from examples import flask_app as example

    with passing(example, "BackendKit", rate_limits=site_limit()):  # Flask's site-wide limits are a setting
        app = example.create_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(BUG)

    @app.route("/guarded", methods=["PUT", "DELETE"])
    @require()
    def guarded() -> Any:
        return jsonify(method=request.method)

    return app


@contextmanager
def django_settings() -> Iterator[None]:
    """The Django example's settings, with the browser tests' routes and limit, while the block runs.

    Its ``CORS`` is read again from ``BACKENDKIT_EXAMPLE_CORS_ORIGINS``, as the settings module
    reads it: the session imported that module before the tests set the variable.
    """
    from django.conf import settings
    from django.test import override_settings

    from examples import _security

    config = {**settings.BACKENDKIT, "CORS": _security.cors(), "RATE_LIMITS": site_limit()}
    middleware = [*settings.MIDDLEWARE, "backendkit.django.ratelimit.RateLimitMiddleware"]
    with override_settings(BACKENDKIT=config, MIDDLEWARE=middleware, ROOT_URLCONF="tests.browser.django_urls"):
        yield
