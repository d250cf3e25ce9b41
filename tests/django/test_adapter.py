"""Django: settings, system checks, error views for middleware failures, Django's own exceptions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings

from backendkit.django._checks import check_setup
from backendkit.errors import APIError, RenderContext, RenderedBody, Unauthorized
from backendkit.ratelimit import Limit

MW = "backendkit.django.ErrorMiddleware"
urls = override_settings(ROOT_URLCONF="tests.django.urls")


class DenyMiddleware:
    """A middleware after ours that rejects requests carrying ?deny."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "deny" in request.GET:
            raise Unauthorized("Bad token.")
        if "crash" in request.GET:
            raise RuntimeError("middleware secret")
        return self.get_response(request)


def teapot_renderer(error: APIError, context: RenderContext) -> RenderedBody:
    return RenderedBody("application/vnd.teapot+json", {"teapot": error.code})


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(response.content)["error"]
    return body


@urls
@pytest.mark.parametrize(
    ("path", "status", "code", "message"),
    [
        ("/not-found", 404, "NOT_FOUND", "The requested resource was not found."),
        ("/denied", 403, "FORBIDDEN", "You do not have permission to perform this action."),
        ("/suspicious", 400, "BAD_REQUEST", "The request could not be understood."),
    ],
)
def test_django_exceptions_never_show_their_text(path: str, status: int, code: str, message: str) -> None:
    response = Client().get(path)
    assert response.status_code == status
    error = error_of(response)
    assert (error["code"], error["message"]) == (code, message)
    assert b"secret" not in response.content
    assert b"reason" not in response.content
    assert b"attack" not in response.content


@urls
def test_async_view_error_under_asgi() -> None:
    async def go() -> Any:
        return await AsyncClient(raise_request_exception=False).get("/async-boom", headers={"X-Request-ID": "async-1"})

    response = asyncio.run(go())
    assert response.status_code == 500
    assert error_of(response) == {
        "code": "INTERNAL_ERROR",
        "message": "An unexpected error occurred.",
        "request_id": "async-1",
    }


@urls
def test_bugs_still_reach_error_reporters() -> None:
    from django.core.signals import got_request_exception

    received: list[object] = []

    def receiver(sender: object, request: HttpRequest, **kwargs: object) -> None:
        received.append(request.path)

    got_request_exception.connect(receiver)
    try:

        async def go() -> Any:
            return await AsyncClient(raise_request_exception=False).get("/async-boom")

        assert asyncio.run(go()).status_code == 500
        assert Client().get("/denied").status_code == 403  # a mapped error is not a bug: no signal
    finally:
        got_request_exception.disconnect(receiver)
    assert received == ["/async-boom"]
    # Django's test client re-raises what the signal reported, as it does without backendkit.
    with pytest.raises(RuntimeError, match="async secret"):
        asyncio.run(AsyncClient().get("/async-boom"))


@override_settings(ROOT_URLCONF="tests.django.urls", MIDDLEWARE=[MW, "tests.django.test_adapter.DenyMiddleware"])
def test_errors_raised_by_other_middleware_use_the_error_views() -> None:
    # Django itself signals these as request exceptions; the test client would re-raise them.
    client = Client(raise_request_exception=False)
    denied = client.get("/ok?deny=1", headers={"X-Request-ID": "mw-1"})
    assert denied.status_code == 401
    assert error_of(denied) == {"code": "UNAUTHORIZED", "message": "Bad token.", "request_id": "mw-1"}
    assert denied["X-Request-ID"] == "mw-1"
    crashed = client.get("/ok?crash=1")
    assert crashed.status_code == 500
    assert error_of(crashed)["message"] == "An unexpected error occurred."
    assert b"middleware secret" not in crashed.content


@override_settings(ROOT_URLCONF="tests.django.urls", BACKENDKIT={"ERROR_FORMAT": "problem"})
def test_problem_format_from_settings() -> None:
    response = Client().get("/nowhere")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["instance"] == "/nowhere"


@override_settings(
    ROOT_URLCONF="tests.django.urls", BACKENDKIT={"ERROR_FORMAT": "tests.django.test_adapter.teapot_renderer"}
)
def test_renderer_by_dotted_path() -> None:
    response = Client().get("/nowhere")
    assert response["Content-Type"] == "application/vnd.teapot+json"
    assert json.loads(response.content) == {"teapot": "NOT_FOUND"}


@urls
@override_settings(DEBUG=True)
def test_routing_404_is_json_in_debug_too() -> None:
    assert error_of(Client().get("/nowhere"))["code"] == "NOT_FOUND"


@override_settings(ROOT_URLCONF="tests.django.urls", BACKENDKIT={"DEBUG_ERRORS": True})
def test_debug_errors() -> None:
    async def go() -> Any:
        return await AsyncClient(raise_request_exception=False).get("/async-boom")

    assert error_of(asyncio.run(go()))["details"]["message"] == "async secret"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"ERROR_FORMT": "problem"}, "unknown backendkit setting 'ERROR_FORMT'"),
        ({"ERROR_FORMAT": "no.such.module.render"}, "No module named 'no'"),
        ("problem", "must be a dict"),
    ],
)
def test_bad_settings_are_improperly_configured(config: object, message: str) -> None:
    with (
        override_settings(ROOT_URLCONF="tests.django.urls", BACKENDKIT=config),
        pytest.raises(ImproperlyConfigured, match=message),
    ):
        Client().get("/ok")


@pytest.mark.parametrize(
    ("middleware", "urlconf", "ids"),
    [
        ([MW, "django.middleware.common.CommonMiddleware"], "tests.django.urls", []),
        (["backendkit.django.middleware.ErrorMiddleware"], "tests.django.urls", []),
        ([], "tests.django.urls", ["backendkit.E001"]),
        (["django.middleware.common.CommonMiddleware", MW], "tests.django.urls", ["backendkit.W001"]),
        ([MW], "tests.django.urls_without_handlers", ["backendkit.W002"]),
        ([MW, "backendkit.django.ratelimit.RateLimitMiddleware"], "tests.django.urls", []),
        (
            ["backendkit.django.ratelimit.RateLimitMiddleware", MW],
            "tests.django.urls",
            ["backendkit.W001", "backendkit.E003"],
        ),
    ],
)
def test_system_checks(middleware: list[str], urlconf: str, ids: list[str]) -> None:
    with override_settings(MIDDLEWARE=middleware, ROOT_URLCONF=urlconf):
        assert [m.id for m in check_setup()] == ids


def test_bad_settings_are_reported_by_manage_py_check() -> None:
    with override_settings(BACKENDKIT={"ERROR_FORMT": "problem"}):
        messages = check_setup()
    assert [m.id for m in messages] == ["backendkit.E002"]
    assert "ERROR_FORMT" in messages[0].msg


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        ("5/minute", "write Limit('5/minute')"),  # once a raw ImportError on the first request
        (["1000/hour"], "write Limit('1000/hour')"),
        (42, "not int"),
        ({"a": Limit("1/minute")}, "not dict"),  # its keys were read as rates
        ("tests.django.no_such_module.LIMITS", None),  # a dotted path that does not import: E002
    ],
)
def test_rate_limits_that_are_not_limits_are_reported_at_start_up(limits: object, says: str | None) -> None:
    with override_settings(BACKENDKIT={"RATE_LIMITS": limits}):
        messages = check_setup()
    if says is None:
        assert [m.id for m in messages] == ["backendkit.E002"]
        return
    [message] = messages
    assert message.id == "backendkit.E004"
    assert says in message.msg


def test_the_rate_limits_live_in_the_backendkit_dict() -> None:
    from backendkit.ratelimit import Limit

    with override_settings(BACKENDKIT={"RATE_LIMITS": [Limit("5/minute")]}):
        assert check_setup() == []
    with override_settings(BACKENDKIT_RATE_LIMITS=Limit("5/minute")):
        [message] = check_setup()
    assert message.id == "backendkit.E004"
    assert "BACKENDKIT dict" in message.msg


def test_checks_are_registered_by_the_app() -> None:
    from django.core import checks

    with override_settings(MIDDLEWARE=[]):
        assert "backendkit.E001" in [m.id for m in checks.run_checks()]


CSRF = ["backendkit.django.ErrorMiddleware", "django.middleware.csrf.CsrfViewMiddleware"]


@pytest.mark.parametrize("view", ["backendkit.django.views.csrf_failure", "backendkit.django.views.handler403"])
def test_a_csrf_failure_is_the_envelope(view: str) -> None:
    # A default startproject has CsrfViewMiddleware; its refusal was Django's HTML 403, and
    # CSRF_FAILURE_VIEW = "backendkit.django.views.handler403" failed (handler403 was a string).
    with override_settings(MIDDLEWARE=CSRF, ROOT_URLCONF="tests.django.urls", CSRF_FAILURE_VIEW=view):
        reply = Client(enforce_csrf_checks=True).post("/ok", {"a": "1"}, headers={"X-Request-ID": "csrf-1"})
    assert reply.status_code == 403
    assert reply["Content-Type"] == "application/json"
    error = json.loads(reply.content)["error"]
    assert error == {
        "code": "CSRF_FAILED",
        "message": "CSRF verification failed.",
        "details": {"reason": "CSRF cookie not set."},
        "request_id": "csrf-1",
    }


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (
            {"Origin": "https://attacker.example<script>"},
            "Origin checking failed - the Origin header does not match any trusted origins.",
        ),
        (
            {"Referer": "https://attacker.example/<script>"},
            "Referer checking failed - the Referer header does not match any trusted origins.",
        ),
    ],
    ids=["origin", "referer"],
)
def test_a_csrf_failure_never_echoes_what_the_client_sent(headers: dict[str, str], reason: str) -> None:
    # Django quotes the Origin or Referer it refused in its reason; the envelope once sent it back.
    client = Client(enforce_csrf_checks=True)
    with override_settings(
        MIDDLEWARE=CSRF, ROOT_URLCONF="tests.django.urls", CSRF_FAILURE_VIEW="backendkit.django.views.csrf_failure"
    ):
        reply = client.post("/ok", {"a": "1"}, headers=headers, secure=True)
    assert reply.status_code == 403
    assert json.loads(reply.content)["error"]["details"] == {"reason": reason}
    assert b"attacker" not in reply.content


def test_csrf_failures_in_html_are_a_warning_at_start_up() -> None:
    with override_settings(MIDDLEWARE=CSRF, ROOT_URLCONF="tests.django.urls"):
        assert [m.id for m in check_setup()] == ["backendkit.W003"]
    with override_settings(
        MIDDLEWARE=CSRF, ROOT_URLCONF="tests.django.urls", CSRF_FAILURE_VIEW="backendkit.django.views.csrf_failure"
    ):
        assert check_setup() == []
