"""The probe routes on a bare app: HEAD answered as GET is, on FastAPI with or without install()."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette

from backendkit.fastapi import health as fastapi_health
from backendkit.fastapi import install
from backendkit.fastapi.health import health_routes as fastapi_health_routes
from backendkit.health import MEDIA_TYPE, Health
from backendkit.starlette.health import health_routes

pytestmark = pytest.mark.usefixtures("collected")  # (tests/conftest.py: warnings recorded here are theirs)


def _fastapi(kind: str) -> FastAPI:
    app = FastAPI()
    if kind == "installed":
        install(app)
    if kind == "router":
        app.include_router(fastapi_health_routes(Health()))
    elif kind == "installed":
        fastapi_health_routes(Health(), app=app)
    else:  # the deprecated way, onto the app itself, kept working for one release
        with pytest.deprecated_call():
            fastapi_health.add_health_routes(app, Health())
    return app


@pytest.mark.parametrize("kind", ["bare", "installed", "router"])
@pytest.mark.parametrize("path", ["/livez", "/readyz", "/startupz", "/healthz"])
def test_fastapi_probes_answer_head_and_document_only_get(kind: str, path: str) -> None:
    app = _fastapi(kind)
    with TestClient(app) as client:
        got = client.get(path)
        head = client.head(path)
        assert (got.status_code, got.headers["content-type"]) == (200, MEDIA_TYPE)
        assert (head.status_code, head.headers["content-type"], head.content) == (200, MEDIA_TYPE, b"")
        assert list(client.get("/openapi.json").json()["paths"][path]) == ["get"]


@pytest.mark.parametrize("path", ["/livez", "/readyz"])
def test_starlette_probes_answer_head(path: str) -> None:
    with TestClient(Starlette(routes=health_routes(Health()))) as client:
        head = client.head(path)
        assert (head.status_code, head.content) == (200, b"")
        assert client.post(path).status_code == 405
