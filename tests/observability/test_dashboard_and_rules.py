"""The shipped Grafana dashboard and Prometheus alert rules: they parse, they read only what backendkit exposes, and
the alerts fire (and stay quiet) as their comments say, checked by promtool (Debian's ``prometheus`` package)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from backendkit.observability._core import catalog
from tests.observability import promql

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "observability"
DASHBOARD = EXAMPLES / "grafana-dashboard.json"
ALERTS = EXAMPLES / "alerts.yml"

# What Grafana puts in place of its variables: any concrete value, so that promtool can parse the result.
VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$job": "api",
    "$instance": "10.0.0.1:8000",
    "$route": "/tasks/{task_id}",
}


def promtool() -> str:
    """promtool's path; skips without it, or fails when BACKENDKIT_REQUIRE_PROMETHEUS is set (as in CI)."""
    binary = shutil.which("promtool")
    if binary is None:
        message = "promtool is not on PATH (install Debian's prometheus package: apt-get install prometheus)"
        if os.environ.get("BACKENDKIT_REQUIRE_PROMETHEUS", "") not in ("", "0"):
            pytest.fail(f"BACKENDKIT_REQUIRE_PROMETHEUS is set but {message}")
        pytest.skip(message)
    return binary


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *map(str, args)], capture_output=True, text=True, timeout=60, check=False)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def query_panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def substituted(expr: str) -> str:
    for name in sorted(VARIABLES, key=len, reverse=True):  # $__rate_interval before a shorter name it starts with
        expr = expr.replace(name, VARIABLES[name])
    assert "$" not in expr, f"a variable the test does not know in {expr!r}"
    return expr


def dashboard_exprs() -> list[tuple[str, str]]:
    """``(where, PromQL)`` for every panel target and every variable's ``label_values`` selector."""
    found = [
        (f"panel {panel['id']} ({panel['title']}) {target['refId']}", substituted(target["expr"]))
        for panel in query_panels()
        for target in panel["targets"]
    ]
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+), *(\w+)\)", variable["definition"])
            assert match, f"variable {variable['name']}: not label_values(selector, label)"
            selector, label = match.groups()
            found.append((f"variable {variable['name']}", substituted(f"group by ({label}) ({selector})")))
    return found


def check_rules(rules_file: Path) -> None:
    result = run_promtool("check", "rules", rules_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_checks_the_alert_rules() -> None:
    check_rules(ALERTS)


def test_every_dashboard_expression_parses(tmp_path: Path) -> None:
    rules = [{"record": f"dashboard:expr_{number}", "expr": expr} for number, (_, expr) in enumerate(dashboard_exprs())]
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    check_rules(tmp_path / "dashboard.yml")
    assert len(rules) >= 25  # every panel's targets and the three query variables were written


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    """The parse check can fail: a missing parenthesis is refused."""
    broken = {"groups": [{"name": "g", "rules": [{"record": "r:x", "expr": "sum(rate(x[5m])"}]}]}
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    assert run_promtool("check", "rules", tmp_path / "broken.yml").returncode != 0


@pytest.mark.parametrize(("where", "expr"), dashboard_exprs() + [(r["alert"], r["expr"]) for r in alert_rules()])
def test_every_metric_label_and_value_is_one_backendkit_exposes(where: str, expr: str) -> None:
    assert promql.problems(expr) == [], where


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("rate(backendkit_ratelimit_decisions[5m])", "is not a metric"),  # a counter without _total
        ("backendkit_auth_verifications_total_bucket", "is not a metric"),
        ("http_server_active_requests_total", "is not a metric"),  # a gauge is not a counter
        ('rate(backendkit_store_errors_total{backend="redis"}[5m])', "has no label 'backend'"),
        ('backendkit_auth_verifications_total{reason="token_expired"}', "never produced"),
        ('backendkit_ratelimit_decisions_total{outcome=~"limited|throttled"}', "never produced"),
        ('http_server_request_duration_seconds_count{http_response_status_code=~"6.."}', "matches no value"),
        ("sum by (reason) (backendkit_store_errors_total)", "grouping by 'reason'"),
        ("histogram_quantile(0.9, sum by (le) (rate(backendkit_pagination_pages_total[5m])))", "grouping by 'le'"),
    ],
)
def test_the_catalogue_check_finds_drift(expr: str, problem: str) -> None:
    """The check can fail: names, labels and values backendkit does not produce are each reported."""
    assert any(problem in found for found in promql.problems(expr)), promql.problems(expr)


def test_every_catalogue_label_has_a_value_domain() -> None:
    for instrument in catalog.INSTRUMENTS:
        assert set(promql.VALUES[instrument.name]) == set(instrument.labels), instrument.name


def test_legends_and_annotations_name_only_grouped_labels() -> None:
    for panel in query_panels():
        for target in panel["targets"]:
            grouped = promql.selectors(substituted(target["expr"])).grouping
            named = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target["legendFormat"]))
            assert named <= grouped, (panel["title"], named - grouped)
    for rule in alert_rules():
        grouped = promql.selectors(rule["expr"]).grouping
        for text in rule["annotations"].values():
            named = set(re.findall(r"\$labels\.(\w+)", text))
            assert named <= grouped, (rule["alert"], named - grouped)


def test_the_rules_have_a_duration_a_severity_and_what_to_do() -> None:
    rules = alert_rules()
    names = {rule["alert"] for rule in rules}
    assert len(names) == len(rules)
    for rule in rules:
        assert re.fullmatch(r"\d+m", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert len(rule["annotations"]["description"]) > 80, rule["alert"]
    wanted = {"BackendkitHigh5xxRatio", "BackendkitRateLimit429Surge", "BackendkitTokenRefusalSpike"}
    wanted |= {"BackendkitStoreErrors", "BackendkitBreakerOpen", "BackendkitReadinessFailing"}
    assert wanted <= names


def test_the_dashboard_is_well_formed() -> None:
    board = dashboard()
    assert isinstance(board["schemaVersion"], int)
    assert board["schemaVersion"] >= 39
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"job", "instance"} <= set(variables)
    reference = {"type": "prometheus", "uid": "${datasource}"}
    for variable in variables.values():
        assert variable["type"] == "datasource" or variable["datasource"] == reference, variable["name"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["title"], panel["id"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == reference, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == reference, panel["title"]
            # A variable that may hold several values only works inside a regex matcher.
            for op, name in re.findall(r'(=~|!~|!=|=)\s*"\$(\w+)"', target["expr"]):
                assert op in ("=~", "!~") or not variables[name]["multi"], (panel["title"], name)
            # Every selector follows the job and instance filters.
            for name, matchers in promql.selectors(substituted(target["expr"])).selectors:
                filters = {(label, op, value) for label, op, value in matchers}
                assert {("job", "=~", "api"), ("instance", "=~", "10.0.0.1:8000")} <= filters, (panel["title"], name)
