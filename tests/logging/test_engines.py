"""The orjson path writes the same bytes as the stdlib path; structlog writes the same lines as stdlib."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from typing import Any

import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.logging import JSONFormatter, configure_logging
from tests.logging.conftest import make_record
from tests.logging.test_robustness import EXTRAS


@settings(max_examples=300)
@given(message=st.text(), extras=EXTRAS, profile=st.sampled_from(["default", "ecs", "gcp", "otel"]))
def test_orjson_output_is_identical(message: str, extras: dict[str, Any], profile: str) -> None:
    record = make_record(message, extra=extras)
    stdlib = JSONFormatter(profile=profile, json="stdlib").format(record)
    fast = JSONFormatter(profile=profile, json="orjson").format(record)
    assert fast == stdlib


def test_floats_that_orjson_spells_differently() -> None:
    record = make_record(
        extra={"values": [1e-7, -2.5e-5, 1e16, -1.2345678901234568e17, 1.5e300, 0.1, 5e-324, 1e-4, -0.0]}
    )
    assert JSONFormatter(json="orjson").format(record) == JSONFormatter(json="stdlib").format(record)


def _strip_time(text: str) -> list[dict[str, Any]]:
    lines = [json.loads(t) for t in text.splitlines()]
    for item in lines:
        item.pop("timestamp")
        if "exception" in item:
            item["exception"]["stack"] = item["exception"]["stack"].splitlines()[-1]
    return lines


def test_structlog_and_stdlib_write_identical_lines(isolated_logging: io.StringIO) -> None:
    configure_logging("DEBUG", stream=isolated_logging)
    std = logging.getLogger("shop")
    log = structlog.get_logger("shop")
    std.info("order %s paid", 7, extra={"amount": 12.5, "card": {"token": "tok_1"}})
    log.info("order %s paid", 7, amount=12.5, card={"token": "tok_1"})
    structlog.contextvars.bind_contextvars(tenant="acme")
    try:
        try:
            raise KeyError("sku")
        except KeyError:
            std.exception("lookup failed", extra={"tenant": "acme"})
            log.exception("lookup failed")
    finally:
        structlog.contextvars.clear_contextvars()
    lines = _strip_time(isolated_logging.getvalue())
    assert len(lines) == 4
    assert lines[0] == lines[1]
    assert lines[2] == lines[3]
    assert lines[0] == {
        "level": "info",
        "logger": "shop",
        "message": "order 7 paid",
        "amount": 12.5,
        "card": {"token": "[REDACTED]"},
    }
    assert lines[2]["exception"] == {"type": "KeyError", "message": "'sku'", "stack": "KeyError: 'sku'"}


def test_configure_twice_keeps_one_handler(isolated_logging: io.StringIO) -> None:
    configure_logging(stream=isolated_logging, structlog=False)
    configure_logging(stream=isolated_logging, structlog=False)
    logging.getLogger("x").warning("once")
    assert isolated_logging.getvalue().count('"once"') == 1


def test_dict_config(isolated_logging: io.StringIO) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {"()": "backendkit.logging.JSONFormatter", "profile": "ecs", "extra_redact_keys": ["pin"]}
            },
            "handlers": {"buffer": {"class": "logging.StreamHandler", "formatter": "json", "stream": isolated_logging}},
            "root": {"handlers": ["buffer"], "level": "INFO"},
        }
    )
    logging.getLogger("cfg").info("configured", extra={"pin": "1234"})
    out = json.loads(isolated_logging.getvalue())
    assert (out["log.level"], out["message"], out["pin"]) == ("info", "configured", "[REDACTED]")


def test_structlog_keeps_lines_stdlib_would_keep(isolated_logging: io.StringIO) -> None:
    configure_logging("DEBUG", stream=isolated_logging)
    structlog.get_logger("shop").info("%s and %s", 1, level="L", logger="G")
    [second] = _strip_time(isolated_logging.getvalue())
    # The stdlib side is formatted directly: pytest's own log handler would fail the
    # test on the mismatched arguments before ours could show that the line is kept.
    record = make_record("%s and %s", name="shop", args=(1,), extra={"level": "L", "logger": "G"})
    [first] = _strip_time(JSONFormatter().format(record))
    assert first == second
    assert first["message"] == "%s and %s"
    assert (first["extra.level"], first["extra.logger"]) == ("L", "G")


def test_structlog_fields_survive_a_queue_handler(isolated_logging: io.StringIO) -> None:
    import logging.handlers
    import queue

    configure_logging("DEBUG", stream=isolated_logging)
    root = logging.getLogger()
    json_handlers = list(root.handlers)
    q: queue.Queue[logging.LogRecord] = queue.Queue()
    root.handlers[:] = [logging.handlers.QueueHandler(q)]
    listener = logging.handlers.QueueListener(q, *json_handlers)
    listener.start()
    try:
        structlog.get_logger("a").info("login", password="hunter2", user="ann")
    finally:
        listener.stop()
    [line] = _strip_time(isolated_logging.getvalue())
    assert line == {"level": "info", "logger": "a", "message": "login", "password": "[REDACTED]", "user": "ann"}
