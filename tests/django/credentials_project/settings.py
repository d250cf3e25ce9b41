"""Settings of the credentials test project; the database comes from ``BK_CREDENTIALS_DB``.

``sqlite:<path>``, or ``postgresql:<schema>`` on the local server (the schema the test
session made). ``BK_CREDENTIALS_API_KEYS``, when set, is ``BACKENDKIT_API_KEYS``.
"""

from __future__ import annotations

import os

from tests.support.postgres import django_database

SECRET_KEY = "credentials-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "tests.django.credentials_project.urls"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "backendkit.django",
    "backendkit.django.credentials",
]
MIDDLEWARE = [
    "backendkit.django.ErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
CSRF_FAILURE_VIEW = "backendkit.django.views.csrf_failure"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

_kind, _, _where = os.environ.get("BK_CREDENTIALS_DB", "sqlite::memory:").partition(":")
DATABASES = {
    "default": (
        django_database(_where)
        if _kind == "postgresql"
        else {"ENGINE": "django.db.backends.sqlite3", "NAME": _where or ":memory:"}
    )
}
if os.environ.get("BK_CREDENTIALS_API_KEYS"):
    BACKENDKIT_API_KEYS = os.environ["BK_CREDENTIALS_API_KEYS"]
LOGGING_CONFIG = None  # the command's output alone on stdout and stderr
