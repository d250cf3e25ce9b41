"""Settings of the Django example: no database, no templates, JSON and one HTML page."""

from __future__ import annotations

from examples import _http, _metrics, _security, _sessions
from examples._proxies import trusted_proxies
from examples._tasks import MAX_BODY_SIZE

SECRET_KEY = "example-only-not-secret"  # noqa: S105  (an example, never deployed)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "examples.django_app.urls"
INSTALLED_APPS = ["backendkit.django"]
MIDDLEWARE = ["backendkit.django.ErrorMiddleware"]  # @require needs no middleware of its own
DATABASES: dict[str, object] = {}
USE_TZ = True
BACKENDKIT = {
    "ERROR_FORMAT": "envelope",
    "MAX_BODY_SIZE": MAX_BODY_SIZE,
    "AUTH": "examples.django_app.views.auth",
    "TRUSTED_PROXIES": trusted_proxies(),  # who the client is: see examples/_proxies.py
    "CORS": _security.cors(),  # the origins in BACKENDKIT_EXAMPLE_CORS_ORIGINS (None: no CORS)
    "SECURITY_HEADERS": _security.security_headers(),
    "CONDITIONAL_REQUESTS": _http.CONDITIONAL,  # ETags on 200 GET/HEAD answers, 304 when the client's copy is current
    "VERSIONING": _http.VERSIONS,  # /v1/... (deprecated) and /v2/...; another version is a 404
}
# Who may log in (POST /auth/login): BACKENDKIT_EXAMPLE_USERS, read once, as every setting is.
EXAMPLE_USERS = _sessions.users()
# BACKENDKIT_EXAMPLE_METRICS=1: observed from start-up (Django loads the URLconf at the first request, too late).
METRICS = _metrics.installed()

# JSON lines on standard error, through dictConfig as Django applies LOGGING.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "backendkit.logging.JSONFormatter", "profile": "default"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}
