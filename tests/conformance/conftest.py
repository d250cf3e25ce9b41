"""One target per (framework, transport): three test clients and four real servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.conformance import targets as t
from tests.conformance.targets import ALLOWED_ORIGIN
from tests.support.servers import uvicorn_server, waitress_server


@contextmanager
def _allowing_the_origin() -> Iterator[None]:
    """BACKENDKIT_EXAMPLE_CORS_ORIGINS while the FastAPI and Flask examples are built, and only then.

    (Django's example reads it once, with its settings: tests/conformance/django_settings.py names the
    origin itself, so that the order in which a session loads things cannot change it.)
    """
    before = os.environ.get("BACKENDKIT_EXAMPLE_CORS_ORIGINS")
    os.environ["BACKENDKIT_EXAMPLE_CORS_ORIGINS"] = ALLOWED_ORIGIN
    try:
        yield
    finally:
        if before is None:
            del os.environ["BACKENDKIT_EXAMPLE_CORS_ORIGINS"]
        else:
            os.environ["BACKENDKIT_EXAMPLE_CORS_ORIGINS"] = before


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
    with (
        uvicorn_server(fastapi_served) as fastapi_port,
        waitress_server(flask_served) as flask_port,
        uvicorn_server(get_asgi_application()) as django_asgi_port,
        waitress_server(get_wsgi_application()) as django_wsgi_port,
    ):
        yield {
            "fastapi-testclient": t.Target("fastapi-testclient", "fastapi", t.fastapi_client(fastapi_tested)),
            "flask-testclient": t.Target("flask-testclient", "flask", t.flask_client(flask_tested)),
            "django-testclient": t.Target("django-testclient", "django", t.django_client()),
            "fastapi-uvicorn": t.served("fastapi-uvicorn", "fastapi", fastapi_port),
            "flask-waitress": t.served("flask-waitress", "flask", flask_port),
            "django-uvicorn-asgi": t.served("django-uvicorn-asgi", "django", django_asgi_port),
            "django-waitress-wsgi": t.served("django-waitress-wsgi", "django", django_wsgi_port),
        }


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, all_targets: dict[str, t.Target]) -> t.Target:
    return all_targets[request.param]
