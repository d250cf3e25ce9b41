"""The shipped alerts fire, and stay quiet, as alerts.yml's comments say: ``promtool test rules`` on synthetic series.

Each case is a few minutes of made-up scrapes (one a minute) of series backendkit
exposes (checked against the catalogue like the rules themselves) and the alerts
expected at given times: none while pending or below the threshold, the alert with
its labels and rendered annotations once it has held for its ``for:``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observability import promql
from tests.observability.test_dashboard_and_rules import ALERTS, alert_rules, run_promtool

TARGET = 'job="api", instance="10.0.0.1:8000"'
API = {"job": "api"}
INSTANCE = {"job": "api", "instance": "10.0.0.1:8000"}


def requests(status: str) -> str:
    labels = f'{TARGET}, http_request_method="GET", http_route="/tasks", http_response_status_code="{status}"'
    return f"http_server_request_duration_seconds_count{{{labels}}}"


def decisions(outcome: str) -> str:
    return f'backendkit_ratelimit_decisions_total{{{TARGET}, policy="100-per-60s", outcome="{outcome}"}}'


def tokens(outcome: str, reason: str) -> str:
    return f'backendkit_auth_verifications_total{{{TARGET}, outcome="{outcome}", reason="{reason}"}}'


def reports(probe: str, status: str) -> str:
    return f'backendkit_health_reports_total{{{TARGET}, probe="{probe}", status="{status}"}}'


BREAKER = f'backendkit_store_breakers_open{{{TARGET}, store="ratelimit"}}'
STORE_ERRORS = f'backendkit_store_errors_total{{{TARGET}, store="idempotency"}}'
BREAKER_LABELS = {**INSTANCE, "store": "ratelimit"}
NO_KEYS = [(API, "api: tokens refused because no signing key can be fetched")]

# (case, {series: values}, [(alert, minute, [(labels, summary)])]): values in promtool's notation, one a minute.
CASES: list[tuple[str, dict[str, str], list[tuple[str, int, list[tuple[dict[str, str], str]]]]]] = [
    (
        "10% of requests answer 5xx",
        {requests("200"): "0+540x40", requests("503"): "0+60x40"},
        [
            ("BackendkitHigh5xxRatio", 4, []),  # pending: true for less than 5 minutes
            ("BackendkitHigh5xxRatio", 10, [(API, "api: 10% of requests answer 5xx")]),
            ("BackendkitElevated5xxRatio", 10, []),
            ("BackendkitElevated5xxRatio", 20, [(API, "api: 10% of requests answer 5xx")]),
        ],
    ),
    (
        "0.5% of requests answer 5xx",
        {requests("200"): "0+597x40", requests("500"): "0+3x40"},
        [("BackendkitHigh5xxRatio", 30, []), ("BackendkitElevated5xxRatio", 30, [])],
    ),
    (
        "an idle service's one failure in four",
        {requests("200"): "0+3x40", requests("500"): "0+1x40"},
        [("BackendkitHigh5xxRatio", 30, []), ("BackendkitElevated5xxRatio", 30, [])],
    ),
    (
        "a breaker open for 5 minutes, then closed",
        {BREAKER: "0 0 1 1 1 1 1 0 0 0 0 0"},
        [
            ("BackendkitBreakerOpen", 3, []),
            ("BackendkitBreakerOpen", 5, [(BREAKER_LABELS, "10.0.0.1:8000: the ratelimit store's breaker is open")]),
            ("BackendkitBreakerOpen", 10, []),
        ],
    ),
    (
        "a breaker flapping (never open 2 minutes running)",
        {BREAKER: "0 1 0 1 1 0 1 0 1 0"},
        [("BackendkitBreakerOpen", minute, []) for minute in range(1, 10)],
    ),
    (
        "readiness failing from the 11th minute",
        {reports("ready", "pass"): "0+6x10 60+0x30", reports("ready", "fail"): "0x10 0+6x30"},
        [
            ("BackendkitReadinessFailing", 12, []),
            ("BackendkitReadinessFailing", 25, [(INSTANCE, "10.0.0.1:8000: the readiness probe fails")]),
        ],
    ),
    (
        "one readiness answer in six fails; liveness failing does not count",
        {reports("ready", "pass"): "0+5x30", reports("ready", "fail"): "0+1x30", reports("live", "fail"): "0+6x30"},
        [("BackendkitReadinessFailing", 20, [])],
    ),
    (
        "a fifth of rate-limited requests refused",
        {decisions("allowed"): "0+240x30", decisions("limited"): "0+60x30"},
        [
            ("BackendkitRateLimit429Surge", 5, []),
            ("BackendkitRateLimit429Surge", 20, [(API, "api: 20% of rate-limited requests refused")]),
        ],
    ),
    (
        "shadow limits are not refusals",
        {decisions("allowed"): "0+240x30", decisions("shadow_limited"): "0+60x30", decisions("limited"): "0+6x30"},
        [("BackendkitRateLimit429Surge", 30, [])],
    ),
    (
        "half the tokens refused after a key rotation",
        {tokens("accepted", "none"): "0+60x30", tokens("refused", "unknown_kid"): "0+60x30"},
        [
            ("BackendkitTokenRefusalSpike", 5, []),
            ("BackendkitTokenRefusalSpike", 20, [(API, "api: 50% of bearer tokens refused")]),
            ("BackendkitTokenKeysUnavailable", 20, []),
        ],
    ),
    (
        "no signing key can be fetched",
        {tokens("accepted", "none"): "0x30", tokens("refused", "keys_unavailable"): "0+60x30"},
        [
            ("BackendkitTokenKeysUnavailable", 3, []),
            ("BackendkitTokenKeysUnavailable", 10, NO_KEYS),
            ("BackendkitTokenRefusalSpike", 20, [(API, "api: 100% of bearer tokens refused")]),
        ],
    ),
    (
        "expired tokens in the background",
        {tokens("accepted", "none"): "0+540x30", tokens("refused", "expired"): "0+60x30"},
        [("BackendkitTokenRefusalSpike", 30, [])],
    ),
    (
        "the idempotency store failing 6 times a minute",
        {STORE_ERRORS: "0+6x20"},
        [
            ("BackendkitStoreErrors", 3, []),
            (
                "BackendkitStoreErrors",
                10,
                [({"job": "api", "store": "idempotency"}, "api: the idempotency store is failing (0.10 errors/s)")],
            ),
        ],
    ),
    ("a store error a minute", {STORE_ERRORS: "0+1x30"}, [("BackendkitStoreErrors", 20, [])]),
]


def rendered(template: str, labels: dict[str, str]) -> str:
    """A description as Prometheus renders it: descriptions use only ``$labels`` (the summaries carry the value)."""
    text = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda match: labels[match.group(1)], template)
    assert "{{" not in text, f"a description template the test cannot render: {template!r}"
    return text


def unit_test(case: str, series: dict[str, str], expected: list[Any]) -> dict[str, Any]:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    checks = []
    for alert, minute, alerts in expected:
        rule = rules[alert]
        checks.append(
            {
                "alertname": alert,
                "eval_time": f"{minute}m",
                "exp_alerts": [
                    {
                        "exp_labels": {**labels, **rule["labels"]},
                        "exp_annotations": {
                            "summary": summary,
                            "description": rendered(rule["annotations"]["description"], labels),
                        },
                    }
                    for labels, summary in alerts
                ],
            }
        )
    inputs = [{"series": selector, "values": values} for selector, values in series.items()]
    return {"name": case, "interval": "1m", "input_series": inputs, "alert_rule_test": checks}


@pytest.mark.parametrize(("case", "series", "expected"), CASES, ids=[case[0] for case in CASES])
def test_the_synthetic_series_are_ones_backendkit_exposes(case: str, series: dict[str, str], expected: Any) -> None:
    for selector in series:
        assert promql.problems(selector) == [], selector


def test_the_alerts_fire_and_stay_quiet_as_documented(tmp_path: Path) -> None:
    tested = {alert for _, _, expected in CASES for alert, _, alerts in expected if alerts}
    assert tested == {rule["alert"] for rule in alert_rules()}  # every alert is seen firing at least once
    tests = [unit_test(*case) for case in CASES]
    document = {"rule_files": [str(ALERTS)], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(document, sort_keys=False, width=200))
    result = run_promtool("test", "rules", tmp_path / "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The firing test can fail: the 5xx alert does not fire on 0.5% errors, so expecting it is refused."""
    wrong = unit_test(
        "wrong",
        {requests("200"): "0+597x40", requests("500"): "0+3x40"},
        [("BackendkitHigh5xxRatio", 30, [(API, "api: 0.5% of requests answer 5xx")])],
    )
    document = {"rule_files": [str(ALERTS)], "evaluation_interval": "1m", "tests": [wrong]}
    (tmp_path / "wrong_test.yml").write_text(yaml.safe_dump(document, sort_keys=False, width=200))
    result = run_promtool("test", "rules", tmp_path / "wrong_test.yml")
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
