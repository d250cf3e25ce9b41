from __future__ import annotations

import json

import pytest

from backendkit.errors import (
    ErrorHandler,
    ExceptionRegistry,
    NotFound,
    RenderContext,
    RenderedBody,
)


def test_unmapped_exception_is_a_fixed_500() -> None:
    handled = ErrorHandler().handle(RuntimeError("db password=hunter2"), request_id="r", instance="/x")
    assert handled.unhandled
    assert handled.response.status == 500
    assert json.loads(handled.response.body) == {
        "error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred.", "request_id": "r"}
    }
    assert b"hunter2" not in handled.response.body
    assert b"RuntimeError" not in handled.response.body


def test_debug_shows_the_exception() -> None:
    try:
        raise RuntimeError("look here")
    except RuntimeError as exc:
        handled = ErrorHandler(debug=True).handle(exc)
    details = json.loads(handled.response.body)["error"]["details"]
    assert details["exception"] == "builtins.RuntimeError"
    assert details["message"] == "look here"
    assert any("raise RuntimeError" in line for line in details["traceback"])


def test_mapped_error_is_not_unhandled() -> None:
    handled = ErrorHandler().handle(NotFound())
    assert not handled.unhandled
    assert handled.response.status == 404


def test_a_broken_mapper_gives_a_500_not_a_crash() -> None:
    registry = ExceptionRegistry()

    def broken(exc: KeyError) -> NotFound:
        raise ZeroDivisionError

    registry.register(KeyError, broken)
    handled = ErrorHandler(registry=registry).handle(KeyError("k"))
    assert handled.unhandled
    assert handled.response.status == 500
    assert isinstance(handled.mapper_error, ZeroDivisionError)


def test_problem_renderer_by_name() -> None:
    handled = ErrorHandler(renderer="problem").handle(NotFound(), instance="/a")
    assert handled.response.media_type == "application/problem+json"
    assert json.loads(handled.response.body)["instance"] == "/a"


def test_unknown_renderer_name() -> None:
    with pytest.raises(ValueError, match="envelope, problem"):
        ErrorHandler(renderer="xml")


def test_custom_renderer() -> None:
    def render(error: object, context: RenderContext) -> RenderedBody:
        return RenderedBody("text/plain", "nope")

    assert ErrorHandler(renderer=render).handle(NotFound()).response.body == b'"nope"'


def test_an_app_registry_adds_to_the_default_one() -> None:
    class Gone(Exception):
        pass

    registry = ExceptionRegistry()
    registry.register(Gone, lambda exc: NotFound("Gone for good."))
    handler = ErrorHandler(registry=registry)
    assert handler.handle(Gone()).response.status == 404
    # APIErrors still answer for themselves through the process-wide registry.
    assert handler.handle(NotFound("x")).response.status == 404
    assert not handler.handle(NotFound("x")).unhandled


def test_a_broken_mapper_is_logged_with_the_original(caplog: pytest.LogCaptureFixture) -> None:
    from backendkit._runtime import log_unhandled

    registry = ExceptionRegistry()
    registry.register(KeyError, lambda exc: 1 / 0)
    original = KeyError("k")
    handled = ErrorHandler(registry=registry).handle(original)
    log_unhandled(original, handled, request_id="r9", method="GET", path="/p")
    errors = [r for r in caplog.records if r.name == "backendkit.errors"]
    assert [r.exc_info[0] for r in errors if r.exc_info] == [ZeroDivisionError, KeyError]
    assert {r.request_id for r in errors} == {"r9"}  # type: ignore[attr-defined]


def test_a_broken_renderer_still_answers() -> None:
    def broken(error: object, context: RenderContext) -> RenderedBody:
        raise RuntimeError("renderer bug")

    handled = ErrorHandler(renderer=broken).handle(NotFound(), request_id="r")
    assert handled.unhandled
    assert isinstance(handled.mapper_error, RuntimeError)
    assert handled.response.status == 500
    assert json.loads(handled.response.body)["error"]["code"] == "INTERNAL_ERROR"
