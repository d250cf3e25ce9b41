"""The examples emit spans and metric points when the standard ``OTEL_*`` variables ask for them, and only then."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from typing import Any

import pytest

from examples import _tracing
from tests.examples.serving import example_env, python_m
from tests.support.net import free_port, request
from tests.support.servers import ROOT, logged_process


def test_without_the_variables_nothing_is_set_up_and_the_sdk_is_not_imported() -> None:
    code = (
        "import sys\n"
        "from examples import _tracing\n"
        "assert _tracing.observers('x', {'OTEL_TRACES_EXPORTER': 'none', 'OTEL_METRICS_EXPORTER': ''}) == ()\n"
        "import examples.fastapi_app\n"
        "from backendkit.observability._hub import hub\n"
        "assert hub.observers == (), hub.observers\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry.sdk')]\n"
    )
    env = {k: v for k, v in example_env().items() if not k.startswith("OTEL_")}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)


def test_an_exporter_the_examples_do_not_know_is_refused_by_name() -> None:
    with pytest.raises(SystemExit, match="OTEL_TRACES_EXPORTER=zipkin is not supported"):
        _tracing.observers("x", {"OTEL_TRACES_EXPORTER": "console,zipkin"})


def test_otlp_needs_its_exporter_package() -> None:
    environ = {"OTEL_TRACES_EXPORTER": "otlp"}
    try:
        installed = importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc") is not None
    except ModuleNotFoundError:  # (not even the namespace package)
        installed = False
    if not installed:
        with pytest.raises(SystemExit, match="pip install opentelemetry-exporter-otlp"):
            _tracing.observers("x", environ)
    else:
        tracing = _tracing.configure("x", environ)
        assert tracing is not None
        tracing.tracer_provider.shutdown()


def test_the_service_is_named_unless_the_variables_name_it() -> None:
    named = _tracing.configure("tasks-x", {"OTEL_TRACES_EXPORTER": "console"})
    assert named is not None
    assert named.tracer_provider.resource.attributes["service.name"] == "tasks-x"
    named.tracer_provider.shutdown()


def _json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects in ``text`` (the console exporters print indented ones), skipping anything else."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        try:
            item, end = decoder.raw_decode(text, at)
        except ValueError:
            at += 1
            continue
        found.append(item)
        at = end
    return found


@pytest.mark.socket
@pytest.mark.parametrize("example", ["fastapi_app", "flask_app", "django_app"])
def test_each_example_prints_its_spans_and_metrics_with_the_console_exporters(example: str) -> None:
    port = free_port()
    variables = {
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "tasks-test",
    }
    # Points are exported every interval: a server stopped by SIGTERM exits without a last export.
    env = example_env(**variables, OTEL_METRIC_EXPORT_INTERVAL="100")
    with logged_process(python_m(f"examples.{example}", port), port, env=env) as output:
        assert request(port, "GET", "/tasks/999999").status == 404
        assert request(port, "PATCH", "/tasks/1").status == 405
        assert request(port, "GET", "/no-such-page").status == 404
        time.sleep(0.5)
    printed = _json_objects(output.stdout)
    spans = [item for item in printed if item.get("kind") == "SpanKind.SERVER"]
    assert [span["name"] for span in spans] == ["GET /tasks/{task_id}", "PATCH /tasks/{task_id}", "GET"]
    assert {span["resource"]["attributes"]["service.name"] for span in spans} == {"tasks-test"}
    metrics = [
        metric["name"]
        for item in printed
        for resource in item.get("resource_metrics", ())
        for scope in resource["scope_metrics"]
        for metric in scope["metrics"]
    ]
    assert "http.server.request.duration" in metrics
