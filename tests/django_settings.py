"""Settings for the whole test session: the conformance settings plus two databases for the ORM tests.

``default`` is a SQLite file (Django's async ORM runs queries in a worker thread, which
would see an empty in-memory database); ``postgres`` is the local server on the
session's own schema, created by the ``postgres_schema`` fixture.
"""

from __future__ import annotations

import os
import tempfile

from tests.conformance.django_settings import *  # noqa: F403
from tests.conformance.django_settings import BACKENDKIT, INSTALLED_APPS
from tests.support.postgres import django_database

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "tests.pagination.djangoapp.apps.PaginationTestsConfig",
    "backendkit.django.credentials",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(tempfile.gettempdir(), f"backendkit-tests-{os.getpid()}.sqlite3"),
    },
    "postgres": django_database(),
}

# The example's conditional layer and API versions are the conformance targets' (tests/conformance/conftest.py
# builds their handlers with them): the session's other Django apps are compared with Flask and FastAPI apps
# that have neither, and answer as those do.
BACKENDKIT = {key: value for key, value in BACKENDKIT.items() if key not in ("CONDITIONAL_REQUESTS", "VERSIONING")}
