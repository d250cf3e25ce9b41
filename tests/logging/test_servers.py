"""The servers' logging configurations: what uvicorn and gunicorn do with them, in this process.

The real servers, with the examples, are in tests/examples/test_served_logs.py; here each
configuration goes through ``dictConfig`` (uvicorn's way) or gunicorn's own ``Logger``.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backendkit.logging import configure_logging, dict_config, gunicorn_logconfig_dict, uvicorn_log_config
from backendkit.logging.__main__ import main

SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The servers' loggers as a fresh process has them; then they, the root logger and structlog as they were."""
    import structlog

    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in SERVER_LOGGERS)]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in loggers]
    for lg in loggers[1:]:  # (servers run in this process by other tests set their levels)
        lg.handlers[:] = []
        lg.setLevel(logging.NOTSET)
        lg.propagate, lg.disabled = True, False
    try:
        yield
    finally:
        for lg, handlers, level, propagate, disabled in saved:
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate, lg.disabled = propagate, disabled
        structlog.reset_defaults()


def into(config: dict[str, Any], buffer: io.StringIO) -> dict[str, Any]:
    """``config`` with its handler writing to ``buffer`` instead of standard error."""
    config["handlers"]["backendkit"]["stream"] = buffer
    return config


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(text) for text in buffer.getvalue().splitlines()]


def test_dict_config_writes_only_the_options_that_differ_from_the_formatters_defaults() -> None:
    assert dict_config()["formatters"]["json"] == {"()": "backendkit.logging.JSONFormatter", "profile": "default"}
    options = dict_config(
        "debug",
        profile="gcp",
        redact=False,
        extra_redact_keys=("ssn",),
        allow_keys=["token_type"],
        json="stdlib",
        gcp_project="p1",
        static_fields={"service": "tasks"},
    )
    assert options["root"] == {"level": "DEBUG", "handlers": ["backendkit"]}  # dictConfig takes names upper case
    assert options["formatters"]["json"] == {
        "()": "backendkit.logging.JSONFormatter",
        "profile": "gcp",
        "redact": False,
        "extra_redact_keys": ["ssn"],
        "allow_keys": ["token_type"],
        "json": "stdlib",
        "gcp_project": "p1",
        "static_fields": {"service": "tasks"},
    }
    assert json.loads(json.dumps(options)) == options  # JSON types only: it can be a server's file


def test_dict_config_gives_the_formatter_its_options(restored_logging: None) -> None:
    buffer = io.StringIO()
    config = dict_config("INFO", profile="ecs", extra_redact_keys=["pin"], static_fields={"service": "tasks"})
    logging.config.dictConfig(into(config, buffer))
    logging.getLogger("shop").info("paid", extra={"pin": "1234"})
    [line] = lines(buffer)
    assert (line["log.level"], line["message"], line["pin"], line["service"]) == ("info", "paid", "[REDACTED]", "tasks")


def test_configure_logging_replaces_the_handler_of_a_server_configuration(restored_logging: None) -> None:
    # An app that calls configure_logging() under a server configured with these: one line, not two.
    first, second = io.StringIO(), io.StringIO()
    logging.config.dictConfig(into(uvicorn_log_config(), first))
    configure_logging("INFO", stream=second, structlog=False)
    logging.getLogger("uvicorn.error").info("Started server process [1]")
    assert (first.getvalue(), len(lines(second))) == ("", 1)


def test_uvicorn_lines_are_json_with_the_traceback_in_one_line(restored_logging: None) -> None:
    buffer = io.StringIO()
    logging.config.dictConfig(into(uvicorn_log_config("INFO"), buffer))
    error = logging.getLogger("uvicorn.error")
    error.info("Started server process [%d]", 42)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        error.exception("Exception in ASGI application")
    started, failed = lines(buffer)
    assert (started["logger"], started["message"]) == ("uvicorn.error", "Started server process [42]")
    assert failed["exception"]["type"] == "RuntimeError"
    assert failed["exception"]["stack"].startswith("Traceback (most recent call last):")
    assert buffer.getvalue().count("\n") == 2


def test_uvicorn_does_not_even_build_its_access_line(restored_logging: None) -> None:
    buffer = io.StringIO()
    logging.config.dictConfig(into(uvicorn_log_config(), buffer))
    access = logging.getLogger("uvicorn.access")
    # uvicorn's HTTP protocols log access lines only when this logger has somewhere to send them.
    assert not access.hasHandlers()
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/", "1.1", 200)
    assert buffer.getvalue() == ""


class _Response:
    status, sent, headers = "200 OK", 2, [("Content-Type", "application/json")]


def test_gunicorns_own_logger_writes_json_and_no_access_line(restored_logging: None) -> None:
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    buffer = io.StringIO()
    cfg = Config()
    cfg.set("logconfig_dict", into(gunicorn_logconfig_dict("INFO"), buffer))
    log = Logger(cfg)  # as gunicorn's master makes it: its defaults first, then the dict over them
    log.info("Booting worker with pid: %s", 7)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/", "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/"}
    log.access(_Response(), {}, environ, datetime.timedelta(milliseconds=3))
    [line] = lines(buffer)
    assert (line["logger"], line["message"]) == ("gunicorn.error", "Booting worker with pid: 7")
    # The uvicorn worker copies these loggers' handlers onto uvicorn's: the JSON handler, and none for access.
    assert [h.get_name() for h in logging.getLogger("gunicorn.error").handlers] == ["backendkit"]
    assert logging.getLogger("gunicorn.access").handlers == []


def test_gunicorns_log_level_is_left_to_gunicorn(restored_logging: None) -> None:
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    cfg = Config()
    cfg.set("logconfig_dict", into(gunicorn_logconfig_dict("INFO"), io.StringIO()))
    cfg.set("loglevel", "warning")
    Logger(cfg)
    assert logging.getLogger("gunicorn.error").level == logging.WARNING


@pytest.mark.parametrize(("server", "build"), [("uvicorn", uvicorn_log_config), ("gunicorn", gunicorn_logconfig_dict)])
def test_the_command_line_writes_the_configuration(server: str, build: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([server]) == 0
    assert json.loads(capsys.readouterr().out) == build("INFO")
    assert main([server, "--level", "warning", "--profile", "gcp", "--gcp-project", "p1"]) == 0
    assert json.loads(capsys.readouterr().out) == build("WARNING", profile="gcp", gcp_project="p1")


def test_the_command_line_refuses_an_unknown_server(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["hypercorn"])
    assert exited.value.code == 2
    assert "invalid choice: 'hypercorn'" in capsys.readouterr().err


def test_the_examples_uvicorn_file_is_what_the_command_line_writes() -> None:
    # The README's `uvicorn --log-config examples/uvicorn_log.json`: never out of date.
    assert json.loads((ROOT / "examples" / "uvicorn_log.json").read_text()) == uvicorn_log_config("INFO")
