"""One target per (framework, transport): three test clients and four real servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.conformance import targets as t
from tests.conformance.targets import ALLOWED_ORIGIN, USERS
from tests.support.servers import uvicorn_server, waitress_server


@contextmanager
def _allowing_the_origin() -> Iterator[None]:
    """The examples allow ALLOWED_ORIGIN, and USERS to log in, while they are built, and only then.

    FastAPI's and Flask's read BACKENDKIT_EXAMPLE_CORS_ORIGINS and BACKENDKIT_EXAMPLE_USERS when built.
    Django's read both once, with the settings of the whole session: its users are the session's
    (tests/conformance/django_settings.py), and since other tests compare the session's CORS settings
    with apps of their own, its handlers are built under an override of the CORS setting instead
    (ErrorMiddleware reads the settings when a handler loads its middleware, which the test client
    does at its first request unless asked).
    """
    from django.conf import settings
    from django.test import override_settings

    from backendkit.security import CORS
    from examples.django_app import settings as example

    allowing = {
        **settings.BACKENDKIT,
        "CORS": CORS(allow_origins=[ALLOWED_ORIGIN], allow_credentials=True),
        # The example's own, which the session's settings leave out (tests/django_settings.py).
        "CONDITIONAL_REQUESTS": example.BACKENDKIT["CONDITIONAL_REQUESTS"],
        "VERSIONING": example.BACKENDKIT["VERSIONING"],
    }
    with pytest.MonkeyPatch.context() as env, override_settings(BACKENDKIT=allowing):
        env.setenv("BACKENDKIT_EXAMPLE_CORS_ORIGINS", ALLOWED_ORIGIN)
        env.setenv("BACKENDKIT_EXAMPLE_USERS", USERS)
        env.setenv("BACKENDKIT_EXAMPLE_APIKEYS_URL", os.environ["BACKENDKIT_EXAMPLE_APIKEYS_URL"])
        yield


TARGETS = [
    "fastapi-testclient",
    "flask-testclient",
    "django-testclient",
    "fastapi-uvicorn",
    "flask-waitress",
    "django-uvicorn-asgi",
    "django-waitress-wsgi",
]


@pytest.fixture(scope="session")
def all_targets() -> Iterator[dict[str, t.Target]]:
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application

    with _allowing_the_origin():
        fastapi_served, flask_served = t.fastapi_app(), t.flask_app()
        fastapi_tested, flask_tested = t.fastapi_app(), t.flask_app()
        django_asgi, django_wsgi, django_tested = get_asgi_application(), get_wsgi_application(), t.django_client()
    with (
        uvicorn_server(fastapi_served) as fastapi_port,
        waitress_server(flask_served) as flask_port,
        uvicorn_server(django_asgi) as django_asgi_port,
        waitress_server(django_wsgi) as django_wsgi_port,
    ):
        yield {
            "fastapi-testclient": t.Target("fastapi-testclient", "fastapi", t.fastapi_client(fastapi_tested)),
            "flask-testclient": t.Target("flask-testclient", "flask", t.flask_client(flask_tested)),
            "django-testclient": t.Target("django-testclient", "django", django_tested),
            "fastapi-uvicorn": t.served("fastapi-uvicorn", "fastapi", fastapi_port),
            "flask-waitress": t.served("flask-waitress", "flask", flask_port),
            "django-uvicorn-asgi": t.served("django-uvicorn-asgi", "django", django_asgi_port),
            "django-waitress-wsgi": t.served("django-waitress-wsgi", "django", django_wsgi_port),
        }


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, all_targets: dict[str, t.Target]) -> t.Target:
    return all_targets[request.param]
