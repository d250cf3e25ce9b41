"""Probes neither use up rate limits nor fill the logs: exempt paths, and access lines at DEBUG."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from backendkit._settings import PROBE_PATHS, Settings
from backendkit.flask import BackendKit
from backendkit.flask.health import health_routes as flask_health_routes
from backendkit.health import DEFAULT_PATHS, Health
from backendkit.ratelimit import Limit, RequestInfo


def _info(path: str) -> RequestInfo:
    return RequestInfo(method="GET", path=path, peer="10.0.0.1", native=None, headers=lambda name: [])


def test_the_default_probe_paths_are_the_ones_served() -> None:
    assert tuple(DEFAULT_PATHS.values()) == PROBE_PATHS
    assert Settings().access_log_quiet == PROBE_PATHS


def test_rate_limits_exempt_the_probes_by_default() -> None:
    limit = Limit("1/minute")
    for path in PROBE_PATHS:
        for _ in range(3):
            assert limit.check(_info(path), per_route=False) is None  # never counted, never refused
    assert limit.check(_info("/tasks"), per_route=False) is not None
    assert not limit.check(_info("/tasks"), per_route=False).decision.allowed  # type: ignore[union-attr]
    strict = Limit("1/minute", exempt_paths=())
    strict.check(_info("/readyz"), per_route=False)
    assert not strict.check(_info("/readyz"), per_route=False).decision.allowed  # type: ignore[union-attr]


def test_probe_access_lines_are_debug(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    BackendKit(app, rate_limits=Limit("1/minute"))
    app.register_blueprint(flask_health_routes(Health()))
    client = app.test_client()
    with caplog.at_level(logging.DEBUG, logger="backendkit.access"):
        statuses = [client.get("/readyz").status_code for _ in range(3)]
        client.get("/nowhere")
    assert statuses == [200, 200, 200]  # the app-wide limit of one a minute does not touch them
    levels = [(r.getMessage(), r.levelname) for r in caplog.records if r.name == "backendkit.access"]
    assert levels == [("GET /readyz 200", "DEBUG")] * 3 + [("GET /nowhere 404", "WARNING")]


@pytest.mark.parametrize("quiet", [True, False])
def test_probes_mounted_elsewhere_are_quiet_too(quiet: bool, caplog: pytest.LogCaptureFixture) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from backendkit.fastapi import install
    from backendkit.fastapi.health import health_routes as fastapi_health_routes

    flask_app = Flask(__name__)
    BackendKit(flask_app)
    flask_app.register_blueprint(flask_health_routes(Health(quiet=quiet)), url_prefix="/ops")
    fastapi_app = FastAPI()
    install(fastapi_app)
    fastapi_app.include_router(fastapi_health_routes(Health(quiet=quiet), paths={"ready": "/ready"}), prefix="/ops")
    with caplog.at_level(logging.DEBUG, logger="backendkit.access"), TestClient(fastapi_app) as client:
        assert flask_app.test_client().get("/ops/readyz").status_code == 200
        assert client.get("/ops/ready").status_code == 200
        assert client.get("/ops/nowhere").status_code == 404
    level = "DEBUG" if quiet else "INFO"
    lines = [(r.getMessage(), r.levelname) for r in caplog.records if r.name == "backendkit.access"]
    assert lines == [("GET /ops/readyz 200", level), ("GET /ops/ready 200", level), ("GET /ops/nowhere 404", "WARNING")]
