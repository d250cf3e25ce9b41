"""The formatter decides once per key name what to do with an extra: the decisions must match what they replace."""

from __future__ import annotations

import logging
from typing import Any

from backendkit.context import request_id_var
from backendkit.logging import JSONFormatter, Redactor
from tests.logging.conftest import line, make_record


def test_a_key_is_judged_the_same_on_every_line() -> None:
    formatter = JSONFormatter(profile="ecs")
    for _ in range(3):
        out = line(formatter, make_record(extra={"api_key": "k", "client_ip": "10.0.0.7", "_private": 1, "n": 2}))
        assert out["api_key"] == "[REDACTED]"
        assert out["client.ip"] == "10.0.0.7"
        assert out["n"] == 2
        assert "_private" not in out
        assert "client_ip" not in out


def test_a_request_field_of_the_same_name_wins_on_every_line() -> None:
    formatter = JSONFormatter()
    token = request_id_var.set("req-1")
    try:
        same = line(formatter, make_record(extra={"request_id": "req-1"}))
        other = line(formatter, make_record(extra={"request_id": "req-2"}))
    finally:
        request_id_var.reset(token)
    outside = line(formatter, make_record(extra={"request_id": "req-3"}))
    assert same["request_id"] == "req-1"
    assert "extra.request_id" not in same
    assert (other["request_id"], other["extra.request_id"]) == ("req-1", "req-2")
    assert outside["request_id"] == "req-3"
    assert "extra.request_id" not in outside


def test_a_key_that_is_not_text() -> None:
    record = logging.getLogger("app").makeRecord("app", logging.INFO, "app.py", 1, "m", (), None, extra={7: "seven"})
    assert line(JSONFormatter(), record)["7"] == "seven"


def test_keys_past_the_remembered_ones_are_still_judged() -> None:
    formatter = JSONFormatter()
    for index in range(10_050):
        line(formatter, make_record(extra={f"field{index}": index}))
    out = line(formatter, make_record(extra={"db_password": "hunter2", "field99999": "x"}))
    assert (out["db_password"], out["field99999"]) == ("[REDACTED]", "x")


def test_a_new_redactor_applies_to_the_keys_seen_before() -> None:
    formatter = JSONFormatter()
    assert line(formatter, make_record(extra={"ssn": "123", "token": "t"}))["ssn"] == "123"
    formatter.redactor = Redactor(extra_keys=["ssn"], allow_keys=["token"])
    out = line(formatter, make_record(extra={"ssn": "123", "token": "t"}))
    assert (out["ssn"], out["token"]) == ("[REDACTED]", "t")


def test_timestamps_before_1970() -> None:
    formatter = JSONFormatter()
    record = make_record()
    for created, expected in [
        (-0.5, "1969-12-31T23:59:59.500Z"),
        (-0.0001, "1969-12-31T23:59:59.999Z"),
        (-86_400.25, "1969-12-30T23:59:59.750Z"),
    ]:
        record.created = created
        assert line(formatter, record)["timestamp"] == expected


def test_a_mapping_met_twice_is_written_twice_and_a_cycle_through_a_list_is_cut() -> None:
    shared = {"x": 1, "y": 2.5}
    tree: dict[str, Any] = {"name": "root", "items": []}
    tree["items"].append({"parent": tree, "n": None})
    out = line(JSONFormatter(), make_record(extra={"pair": {"left": shared, "right": shared}, "tree": tree}))
    assert out["pair"] == {"left": shared, "right": shared}
    assert out["tree"] == {"name": "root", "items": [{"parent": "[cycle]", "n": None}]}
