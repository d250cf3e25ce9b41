"""The runtime's log of an exception that came after the response had started."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from backendkit import Settings
from backendkit._runtime import AdapterState
from tests.support.logs import LineCatcher

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup, ExceptionGroup
else:  # anyio's dependency on Python 3.10
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup


def _logged(log_lines: LineCatcher, exc: BaseException) -> dict[str, Any]:
    AdapterState(Settings()).log_failure(exc, method="GET", path="/stream")
    [line] = [x for x in log_lines.lines if x["logger"] == "backendkit.errors"]
    return line


@pytest.mark.parametrize("group", [ExceptionGroup, BaseExceptionGroup])
def test_a_group_of_one_is_logged_as_the_exception_it_holds(log_lines: LineCatcher, group: Any) -> None:
    # Starlette before 0.46 wraps what a streamed body raised in an anyio task group's ExceptionGroup.
    nested = group("outer", [group("inner", [RuntimeError("stream broke")])])
    line = _logged(log_lines, nested)
    assert line["message"].startswith("Unhandled RuntimeError after the response to GET /stream")
    assert (line["exception"]["type"], line["exception"]["message"]) == ("RuntimeError", "stream broke")


def test_a_group_of_two_stays_a_group(log_lines: LineCatcher) -> None:
    line = _logged(log_lines, ExceptionGroup("two", [RuntimeError("a"), KeyError("b")]))
    assert line["exception"]["type"].endswith("ExceptionGroup")


def test_an_exception_that_only_has_an_exceptions_attribute_is_itself(log_lines: LineCatcher) -> None:
    class Batch(Exception):
        def __init__(self) -> None:
            super().__init__("a batch failed")
            self.exceptions = (ValueError("one item"),)

    line = _logged(log_lines, Batch())
    assert line["exception"]["message"] == "a batch failed"


@pytest.mark.parametrize(("source", "allowed"), [("header", True), ("path", False), ("media_type", False)])
def test_a_preflight_may_ask_for_the_header_the_api_version_is_read_from(source: str, allowed: bool) -> None:
    from backendkit.http import Versioning
    from backendkit.security import CORS

    settings = Settings(
        cors=CORS(allow_origins=["https://app.example.com"]), versioning=Versioning(["1"], source=source)
    )  # type: ignore[arg-type]
    security = AdapterState(settings).security
    assert security is not None
    asked = security.cors.preflight("https://app.example.com", "GET", "api-version")  # type: ignore[union-attr]
    assert asked.allowed is allowed
