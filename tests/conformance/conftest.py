"""One target per (framework, transport): three test clients and four real servers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conformance import targets as t
from tests.support.servers import uvicorn_server, waitress_server

ALLOWED_ORIGIN = "https://app.example.com"
"""The one origin the examples allow in the conformance suite (BACKENDKIT_EXAMPLE_CORS_ORIGINS)."""
# Before any example is built (Django reads its settings once).
os.environ["BACKENDKIT_EXAMPLE_CORS_ORIGINS"] = ALLOWED_ORIGIN

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

    with (
        uvicorn_server(t.fastapi_app()) as fastapi_port,
        waitress_server(t.flask_app()) as flask_port,
        uvicorn_server(get_asgi_application()) as django_asgi_port,
        waitress_server(get_wsgi_application()) as django_wsgi_port,
    ):
        yield {
            "fastapi-testclient": t.Target("fastapi-testclient", "fastapi", t.fastapi_client(t.fastapi_app())),
            "flask-testclient": t.Target("flask-testclient", "flask", t.flask_client(t.flask_app())),
            "django-testclient": t.Target("django-testclient", "django", t.django_client()),
            "fastapi-uvicorn": t.served("fastapi-uvicorn", "fastapi", fastapi_port),
            "flask-waitress": t.served("flask-waitress", "flask", flask_port),
            "django-uvicorn-asgi": t.served("django-uvicorn-asgi", "django", django_asgi_port),
            "django-waitress-wsgi": t.served("django-waitress-wsgi", "django", django_wsgi_port),
        }


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, all_targets: dict[str, t.Target]) -> t.Target:
    return all_targets[request.param]
