"""The FastAPI example's OpenAPI document tells the truth: schemathesis, every check, over a real socket.

It once left out statuses the server sends (400 MALFORMED_JSON and 415 on
``POST /tasks``, 404 for a path id the route refuses) and listed a 422 that is
never sent, with the page sizes and filters as free text though only integers
pass. ``schemathesis.toml`` at the repository root says the one thing a schema
cannot: how the pagination parameters combine, and what a signed cursor is.

Every check runs but one, ``ensure_resource_availability`` (a resource a POST just
created can be read back). ``POST /tasks`` takes an ``Idempotency-Key``, and a retry of
a creation gets the first 201 again, naming the task it created even when that task was
deleted since: an idempotent replay by definition (the draft, Stripe). schemathesis runs
its phases with one seed, so the stateful phase sends again a key and body that an earlier
phase sent, and that check reads the replay as a failure. The replays are checked by
tests/idempotency and tests/conformance/test_idempotency.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI

from examples.fastapi_app import create_app
from tests.support.net import request
from tests.support.servers import ROOT, uvicorn_server


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """The example with API keys on (a SQLite store of the test's own), so its document has both schemes."""
    monkeypatch.setenv("BACKENDKIT_EXAMPLE_APIKEYS_URL", f"sqlite:///{tmp_path}/keys.db")
    return create_app()


@pytest.mark.socket
def test_schemathesis_with_every_check_finds_nothing(app: FastAPI) -> None:
    with uvicorn_server(app) as port:
        command = [sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{port}/openapi.json"]
        command += ["--checks", "all", "--exclude-checks", "ensure_resource_availability"]
        command += ["--max-examples", "50", "--seed", "20261201", "--no-color"]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "failures" not in result.stdout.lower().split("summary")[-1]


def test_the_document_lists_what_is_sent_and_nothing_else(app: FastAPI) -> None:
    with uvicorn_server(app) as port:
        spec = json.loads(request(port, "GET", "/openapi.json").body)
    responses = {
        f"{method.upper()} {path}": sorted(operation["responses"])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    # With the conditional layer on (conditional_requests), every GET can answer 304, 412 (an If-Match its
    # answer does not match) and 400 (a malformed If-Match).
    assert responses == {
        "GET /healthz": ["200", "304", "400", "412"],
        "GET /livez": ["200", "304", "400", "412"],
        "GET /readyz": ["200", "304", "400", "412", "503"],
        "GET /startupz": ["200", "304", "400", "412", "503"],
        "GET /tasks": ["200", "304", "400", "412"],
        "POST /tasks": ["201", "400", "409", "413", "415", "422"],
        "GET /tasks/{task_id}": ["200", "304", "400", "404", "412"],
        # 400: a malformed If-Match; 412: a stale one; 428: none (before the body is read)
        "PUT /tasks/{task_id}": ["200", "400", "404", "409", "412", "413", "415", "422", "428"],
        "DELETE /tasks/{task_id}": ["204", "400", "404", "412"],
        "GET /v1/tasks/{task_id}": ["200", "304", "400", "404", "412"],
        "GET /v2/tasks/{task_id}": ["200", "304", "400", "404", "412"],
        "GET /legacy/tasks": ["400", "410"],  # retired at its sunset: the 410, or the 400 of a malformed If-Match
        "GET /limited": ["200", "304", "400", "412", "429"],
        "GET /me": ["200", "304", "400", "401", "412"],
        "GET /admin/audit": ["200", "304", "400", "401", "403", "412"],
        "GET /reports": ["200", "304", "400", "401", "403", "412"],
        "POST /auth/login": ["200", "400", "401", "413", "415", "422"],
        "POST /auth/refresh": ["200", "400", "413", "503"],  # 503: a refresh store that cannot answer
        "POST /auth/logout": ["204", "400", "401", "403"],
        "GET /": ["200", "304", "400", "412"],  # the HTML page
        "POST /csp-report": ["204", "400", "413", "415", "429"],  # served by backendkit's middleware
    }
    deprecated = sorted(
        f"{m.upper()} {p}" for p, item in spec["paths"].items() for m, o in item.items() if o.get("deprecated")
    )
    assert deprecated == ["GET /legacy/tasks", "GET /v1/tasks/{task_id}"]
    [_, if_match] = spec["paths"]["/tasks/{task_id}"]["put"]["parameters"]
    assert (if_match["name"], if_match["in"], if_match.get("required", False)) == ("If-Match", "header", False)
    assert sorted(spec["paths"]["/"]["get"]["responses"]["200"]["content"]) == ["text/html"]
    assert sorted(spec["paths"]["/csp-report"]["post"]["requestBody"]["content"]) == [
        "application/csp-report",
        "application/reports+json",
    ]
    # (OpenAPI 3.1 lets a scheme other than OAuth2 list what it requires too.)
    reports = [{"bearerAuth": ["reports:read"]}, {"apiKeyAuth": ["reports:read"]}]
    assert spec["paths"]["/reports"]["get"]["security"] == reports
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKeyAuth"] == {
        "type": "apiKey",
        "description": "An API key in the X-API-Key header.",
        "in": "header",
        "name": "X-API-Key",
    }
    assert spec["paths"]["/me"]["get"]["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
    assert spec["paths"]["/auth/login"]["post"].get("security") is None
    assert sorted(spec["paths"]["/auth/refresh"]["post"]["requestBody"]["content"]) == [
        "application/x-www-form-urlencoded"
    ]
    assert spec["paths"]["/healthz"]["get"].get("security") is None  # the existing routes stay open
    [key] = spec["paths"]["/tasks"]["post"]["parameters"]
    assert (key["name"], key["in"], key.get("required", False)) == ("Idempotency-Key", "header", False)
    assert key["schema"]["pattern"].startswith("^(?:[A-Za-z0-9")
    [task_id] = spec["paths"]["/tasks/{task_id}"]["get"]["parameters"]
    assert task_id["schema"]["minimum"] == 0  # the route's int convertor takes digits only


@pytest.mark.socket
def test_with_metrics_on_the_document_says_what_metrics_answers() -> None:
    from prometheus_client import CollectorRegistry

    from backendkit.fastapi.metrics import metrics_routes
    from backendkit.observability import observe
    from backendkit.observability.prometheus import PrometheusMetrics

    metrics = PrometheusMetrics(CollectorRegistry())
    app = create_app()
    metrics_routes(metrics, app=app)
    with observe(metrics), uvicorn_server(app) as port:
        spec = json.loads(request(port, "GET", "/openapi.json").body)
        command = [sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{port}/openapi.json"]
        command += ["--include-path", "/metrics", "--checks", "all", "--max-examples", "20", "--no-color"]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    operation = spec["paths"]["/metrics"]["get"]
    assert sorted(operation["responses"]) == ["200", "304", "400", "412"]  # (the example runs the conditional layer)
    assert sorted(operation["responses"]["200"]["content"]) == ["application/openmetrics-text", "text/plain"]
    assert "head" not in spec["paths"]["/metrics"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Tested: 1" in result.stdout, result.stdout[-2000:]  # /metrics was tested, not filtered out
