"""What a scrape gets, on every framework and on the apps of its own: formats promtool and the parser accept.

``promtool check metrics`` (Debian's prometheus package) checks the text format; the
promtool of that package parses no OpenMetrics, so the OpenMetrics body goes through
prometheus-client's strict OpenMetrics parser (and the real Prometheus scrapes it in
tests/examples/test_prometheus.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from backendkit.auth import HMACKey, issue
from backendkit.observability._core.events import RateLimitDecided
from backendkit.observability.prometheus import (
    PrometheusMetrics,
    make_asgi_app,
    make_wsgi_app,
    start_metrics_server,
)
from examples import _auth
from tests.observability.prom_apps import OPENMETRICS, fastapi_client, flask_client, observed
from tests.support.net import request
from tests.support.prometheus import promtool_check_metrics
from tests.support.servers import ROOT, uvicorn_server, waitress_server


def django_scrape(accept: str | None) -> tuple[int, str, bytes]:
    """The Django example's answers to a little traffic, then its scrape, through Django's test client."""
    from django.test import Client, override_settings

    headers = {"HTTP_ACCEPT": accept} if accept else {}
    with observed() as metrics, override_settings(ROOT_URLCONF=_django_urls(metrics)):
        client = Client()
        traffic(lambda path, **h: client.get(path, **{f"HTTP_{k.upper()}": v for k, v in h.items()}))
        reply = client.get("/metrics", **headers)
    return reply.status_code, reply["Content-Type"], reply.content


def _django_urls(metrics: PrometheusMetrics) -> Any:
    import types

    from backendkit.django.metrics import metrics_routes
    from examples.django_app.urls import urlpatterns

    module = types.ModuleType("prometheus_test_urls")
    module.urlpatterns = [*metrics_routes(metrics), *urlpatterns]  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module.__name__


def traffic(get: Any) -> None:
    """A 200, a 404 on a route and off every route, a refused token: every request metric has a series."""
    token = issue(HMACKey(_auth.DEV_JWT_SECRET), "ada", issuer=_auth.ISSUER, audience=_auth.AUDIENCE)
    get("/tasks")
    get("/tasks/12345")
    get("/no/such/path")
    get("/me", authorization=f"Bearer {token}x")


def framework_scrape(framework: str, accept: str | None) -> tuple[int, str, bytes]:
    if framework == "django":
        return django_scrape(accept)
    with observed() as metrics:
        client = fastapi_client(metrics) if framework == "fastapi" else flask_client(metrics)
        traffic(lambda path, **h: client.get(path, headers={k.replace("_", "-"): v for k, v in h.items()}))
        reply = client.get("/metrics", headers={"Accept": accept} if accept else {})
    body = reply.content if framework == "fastapi" else reply.data
    return reply.status_code, reply.headers["content-type"], body


FRAMEWORKS = ["fastapi", "flask", "django"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_text_format_passes_promtool(framework: str) -> None:
    status, content_type, body = framework_scrape(framework, None)
    assert (status, content_type) == (200, "text/plain; version=0.0.4; charset=utf-8")
    assert b'backendkit_auth_verifications_total{outcome="refused",reason="bad_signature"} 1.0' in body
    checked = promtool_check_metrics(body)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_openmetrics_when_asked_and_it_parses(framework: str) -> None:
    status, content_type, body = framework_scrape(framework, OPENMETRICS)
    assert status == 200
    assert content_type.startswith("application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert body.endswith(b"# EOF\n")
    families = {family.name: family for family in text_string_to_metric_families(body.decode())}
    assert families["http_server_request_duration_seconds"].type == "histogram"
    assert families["backendkit_auth_verifications"].type == "counter"


def test_promtool_refuses_a_bad_body() -> None:  # the check above can fail
    checked = promtool_check_metrics(b"# TYPE x counter\nx{a=b} 1\n")
    assert checked.returncode != 0


def test_the_asgi_and_wsgi_apps_negotiate_and_refuse_other_methods() -> None:
    metrics = PrometheusMetrics()  # the default registry, as the apps serve it by default
    with uvicorn_server(make_asgi_app()) as asgi, waitress_server(make_wsgi_app()) as wsgi:
        for port in (asgi, wsgi):
            text = request(port, "GET", "/metrics")
            assert (text.status, text.headers["content-type"]) == (200, "text/plain; version=0.0.4; charset=utf-8")
            assert b"# TYPE http_server_request_duration_seconds histogram" in text.body
            open_metrics = request(port, "GET", "/metrics", headers={"Accept": OPENMETRICS})
            assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
            assert open_metrics.body.endswith(b"# EOF\n")
            head = request(port, "HEAD", "/metrics")
            assert (head.status, head.body) == (200, b"")
            assert int(head.headers["content-length"]) > 1000  # the body's (process metrics vary by a byte or two)
            refused = request(port, "POST", "/metrics", body=b"")
            assert (refused.status, refused.headers["allow"]) == (405, "GET, HEAD")
    assert metrics.registry is not None


def test_the_asgi_app_answers_lifespan() -> None:
    with uvicorn_server(make_asgi_app(), lifespan="on") as port:
        assert request(port, "GET", "/").status == 200


def test_the_separate_port_answers_what_the_endpoints_answer() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())  # a registry of its own: no process metrics, the same bytes twice
    metrics.record(RateLimitDecided("5-per-60s", "limited", 0.0))
    server, thread = start_metrics_server(0, registry=metrics.registry)
    port = server.server_address[1]
    try:
        assert server.server_address[0] == "127.0.0.1"  # loopback unless told otherwise
        with waitress_server(make_wsgi_app(metrics.registry)) as app:
            for headers in ({}, {"Accept": OPENMETRICS}, {"Accept-Encoding": "gzip"}):
                for path in ("/metrics", "/metrics?name[]=http_server_active_requests", "/anything"):
                    alone, served = (
                        request(port, "GET", path, headers=headers),
                        request(app, "GET", path, headers=headers),
                    )
                    assert (alone.status, alone.headers["content-type"], alone.body) == (
                        served.status, served.headers["content-type"], served.body,
                    )  # fmt: skip
                    assert "content-encoding" not in alone.headers  # never compressed
                    assert b'backendkit_ratelimit_decisions_total{outcome="limited",policy="5-per-60s"}' in alone.body
                    # (never filtered by name[])
            text = request(port, "GET", "/metrics")
            assert text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
            head = request(port, "HEAD", "/metrics")
            assert (head.status, head.body, int(head.headers["content-length"])) == (200, b"", len(text.body))
            refused = request(port, "POST", "/metrics", body=b"")
            assert (refused.status, refused.headers["allow"]) == (405, "GET, HEAD")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()


SERVED_ALONE = """
import json, os, subprocess, sys, urllib.request
from backendkit.observability.prometheus import start_metrics_server

# A worker that died in the middle of a request, and no exit hook told anyone (uvicorn --workers).
WORKER = '''
from backendkit.context import RequestFacts
from backendkit.observability._core.events import RateLimitDecided, RequestStart
from backendkit.observability.prometheus import PrometheusMetrics
metrics = PrometheusMetrics()
metrics.record(RateLimitDecided("p", "limited", 0.0))
metrics.request_started(RequestStart(RequestFacts(method="GET"), "/tasks", "http", None, None))
'''
subprocess.run([sys.executable, "-c", WORKER], check=True)
directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
before = sorted(os.listdir(directory))
server, thread = start_metrics_server(0)
with urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/metrics", timeout=10) as reply:
    body = reply.read().decode()
server.shutdown()
server.server_close()
print(json.dumps({"before": before, "after": sorted(os.listdir(directory)), "body": body}))
"""


def test_the_separate_port_drops_the_gauges_of_dead_workers(tmp_path: Path) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", SERVED_ALONE], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert any(name.startswith("gauge_livesum_") for name in found["before"])  # the dead worker's request in flight
    assert not any(name.startswith("gauge_livesum_") for name in found["after"])  # dropped by the scrape
    assert 'http_server_active_requests{http_request_method="GET"} 1.0' not in found["body"]
    assert 'backendkit_ratelimit_decisions_total{outcome="limited",policy="p"} 1.0' in found["body"]  # still counts


MULTIPROCESS = """
import json, os, sys
from flask import Flask
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from backendkit.flask import BackendKit
from backendkit.flask.metrics import metrics_routes
from backendkit.observability import observe
from backendkit.observability.prometheus import PrometheusMetrics, mark_process_dead

metrics = PrometheusMetrics()
observe(metrics)
app = Flask(__name__)
BackendKit(app)
app.register_blueprint(metrics_routes(metrics))
app.add_url_rule("/ok", "ok", lambda: "ok")
client = app.test_client()
trace = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
assert client.get("/ok", headers=trace).status_code == 200
scrape = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
body = scrape.data.decode()
families = {f.name: f for f in text_string_to_metric_families(body)}
[count] = [s.value for s in families["http_server_request_duration_seconds"].samples if s.name.endswith("_count")]
files = sorted(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
mark_process_dead(os.getpid())
print(json.dumps({"status": scrape.status_code, "count": count, "exemplar": "# {" in body, "files": files,
                  "after": sorted(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]))}))
"""


def test_multiprocess_mode_serves_the_files_without_exemplars(tmp_path: Any) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert (found["status"], found["count"], found["exemplar"]) == (200, 1.0, False)
    assert any(name.startswith("gauge_livesum_") for name in found["files"])  # in flight: summed over live workers
    assert not any(name.startswith("gauge_livesum_") for name in found["after"])  # gone with the process
    assert any(name.startswith("histogram_") for name in found["after"])  # what it counted stays
