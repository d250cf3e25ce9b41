from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import (
    APIError,
    BadRequest,
    Conflict,
    ContentTooLarge,
    FieldError,
    Forbidden,
    InternalServerError,
    MalformedJSON,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
    error_for_status,
    status_title,
)

CATALOGUE = [
    (APIError, 500, "INTERNAL_ERROR"),
    (BadRequest, 400, "BAD_REQUEST"),
    (MalformedJSON, 400, "MALFORMED_JSON"),
    (Unauthorized, 401, "UNAUTHORIZED"),
    (Forbidden, 403, "FORBIDDEN"),
    (NotFound, 404, "NOT_FOUND"),
    (MethodNotAllowed, 405, "METHOD_NOT_ALLOWED"),
    (Conflict, 409, "CONFLICT"),
    (ValidationFailed, 422, "VALIDATION_ERROR"),
    (TooManyRequests, 429, "RATE_LIMITED"),
    (InternalServerError, 500, "INTERNAL_ERROR"),
    (ServiceUnavailable, 503, "SERVICE_UNAVAILABLE"),
]


@pytest.mark.parametrize(("cls", "status", "code"), CATALOGUE)
def test_catalogue(cls: type[APIError], status: int, code: str) -> None:
    err = cls()
    assert (err.status, err.code) == (status, code)
    assert err.message.endswith(".")
    assert isinstance(err, APIError)
    assert str(err) == err.message


def test_instance_overrides_do_not_touch_the_class() -> None:
    err = NotFound("No such user.", code="USER_NOT_FOUND", details={"id": 7}, headers={"X-Hint": "1"})
    assert (err.message, err.code, err.details, err.headers) == (
        "No such user.",
        "USER_NOT_FOUND",
        {"id": 7},
        {"X-Hint": "1"},
    )
    assert NotFound().code == "NOT_FOUND"
    assert NotFound().message == "The requested resource was not found."


def test_subclass_with_own_code() -> None:
    class PlanLimit(Forbidden):
        code = "PLAN_LIMIT"
        message = "Upgrade your plan."

    err = PlanLimit()
    assert (err.status, err.code, err.message) == (403, "PLAN_LIMIT", "Upgrade your plan.")


@pytest.mark.parametrize("status", [200, 302, 399, 600, 0])
def test_non_error_status_is_refused(status: int) -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        APIError(status=status)


def test_method_not_allowed_normalises_allow() -> None:
    err = MethodNotAllowed(["post", " GET", "get", "", "HEAD "])
    assert err.allowed == ["GET", "HEAD", "POST"]
    assert err.headers == {"Allow": "GET, HEAD, POST"}
    assert MethodNotAllowed().headers == {}


@pytest.mark.parametrize(
    ("retry_after", "header"), [(0.2, "1"), (1.0, "1"), (1.01, "2"), (59.9, "60"), (0, "0"), (-3, "0")]
)
def test_retry_after_rounds_up_to_whole_seconds(retry_after: float, header: str) -> None:
    assert TooManyRequests(retry_after).headers["Retry-After"] == header


def test_validation_failed_details_from_field_errors() -> None:
    err = ValidationFailed(
        [FieldError("title", "missing", "Field required"), FieldError("limit", "int_parsing", "Bad", "query")]
    )
    assert err.details == [
        {"field": "title", "pointer": "/title", "code": "missing", "message": "Field required"},
        {"field": "limit", "location": "query", "code": "int_parsing", "message": "Bad"},
    ]


@pytest.mark.parametrize(
    ("path", "pointer"),
    [((), ""), (("a",), "/a"), (("items", 0, "name"), "/items/0/name"), (("a/b", "c~d"), "/a~1b/c~0d")],
)
def test_field_pointer_is_rfc6901(path: tuple[str | int, ...], pointer: str) -> None:
    assert FieldError(".".join(map(str, path)), "x", "m", path=path).pointer == pointer


@given(st.lists(st.one_of(st.text(max_size=8), st.integers(0, 99)), max_size=5))
def test_pointer_round_trips(path: list[str | int]) -> None:
    pointer = FieldError(".".join(map(str, path)), "c", "m", path=tuple(path)).pointer
    assert pointer is not None
    parts = pointer.split("/")[1:] if pointer else []
    decoded = [p.replace("~1", "/").replace("~0", "~") for p in parts]
    assert decoded == [str(p) for p in path]


@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [
        (400, BadRequest, "BAD_REQUEST"),
        (404, NotFound, "NOT_FOUND"),
        (405, MethodNotAllowed, "METHOD_NOT_ALLOWED"),
        (422, ValidationFailed, "VALIDATION_ERROR"),
        (429, TooManyRequests, "RATE_LIMITED"),
        (503, ServiceUnavailable, "SERVICE_UNAVAILABLE"),
        (413, ContentTooLarge, "PAYLOAD_TOO_LARGE"),
        (418, APIError, "HTTP_ERROR"),
        (200, InternalServerError, "INTERNAL_ERROR"),
    ],
)
def test_error_for_status(status: int, cls: type[APIError], code: str) -> None:
    err = error_for_status(status)
    assert type(err) is cls
    assert err.code == code


def test_error_for_status_keeps_message_and_headers() -> None:
    err = error_for_status(405, "Nope.", headers={"allow": "GET,POST", "X-Other": "1"})
    assert err.message == "Nope."
    assert err.headers == {"X-Other": "1", "Allow": "GET, POST"}


def test_titles_do_not_depend_on_the_python_version() -> None:
    assert status_title(413) == "Content Too Large"
    assert status_title(422) == "Unprocessable Content"
    assert status_title(499) == "Client Error"
    assert status_title(599) == "Server Error"


def test_framework_filler_text_is_not_shown() -> None:
    assert error_for_status(404, "Not Found", framework_default="Not Found").message == NotFound.message
    assert error_for_status(404, "No such user.", framework_default="Not Found").message == "No such user."
    assert error_for_status(400, None, details={"hint": "x"}).details == {"hint": "x"}
