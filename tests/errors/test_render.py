from __future__ import annotations

import json

import pytest

from backendkit.errors import (
    APIError,
    Conflict,
    FieldError,
    MethodNotAllowed,
    NotFound,
    RenderContext,
    RenderedBody,
    ValidationFailed,
    build_response,
    render_envelope,
    render_problem,
)

CTX = RenderContext(request_id="req-1", instance="/tasks/9")


def test_envelope_leaves_out_empty_details() -> None:
    rendered = render_envelope(NotFound(), CTX)
    assert rendered == RenderedBody(
        "application/json",
        {"error": {"code": "NOT_FOUND", "message": "The requested resource was not found.", "request_id": "req-1"}},
    )


@pytest.mark.parametrize("details", [None, [], {}])
def test_envelope_details_empty_forms(details: object) -> None:
    assert "details" not in render_envelope(Conflict(details=details), CTX).payload["error"]


def test_envelope_key_order_and_details() -> None:
    payload = render_envelope(Conflict(details={"field": "title"}), CTX).payload
    assert list(payload["error"]) == ["code", "message", "details", "request_id"]


def test_envelope_without_request() -> None:
    assert "request_id" not in render_envelope(NotFound(), RenderContext()).payload["error"]


def test_problem_details() -> None:
    err = ValidationFailed(
        [FieldError("title", "missing", "Field required"), FieldError("q", "too_long", "Long", "query")]
    )
    media_type, payload = render_problem(err, CTX)
    assert media_type == "application/problem+json"
    assert payload == {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "The request contains invalid fields.",
        "instance": "/tasks/9",
        "code": "VALIDATION_ERROR",
        "request_id": "req-1",
        "errors": [
            {"detail": "Field required", "pointer": "#/title", "field": "title", "code": "missing"},
            {"detail": "Long", "location": "query", "field": "q", "code": "too_long"},
        ],
    }


def test_problem_uses_type_uri_title_and_other_details() -> None:
    class OutOfStock(Conflict):
        code = "OUT_OF_STOCK"
        title = "Out of stock"
        type_uri = "https://errors.example.com/out-of-stock"

    payload = render_problem(OutOfStock(details={"sku": "A1"}), RenderContext()).payload
    assert payload["type"] == "https://errors.example.com/out-of-stock"
    assert payload["title"] == "Out of stock"
    assert payload["details"] == {"sku": "A1"}
    assert "instance" not in payload
    assert "request_id" not in payload


def test_build_response_is_compact_utf8_with_headers() -> None:
    response = build_response(MethodNotAllowed(["GET"], "Ñope ✓"), render_envelope, CTX)
    assert response.status == 405
    assert response.headers == (("Content-Type", "application/json"), ("Allow", "GET"))
    assert response.media_type == "application/json"
    assert response.body.decode("utf-8") == json.dumps(
        {"error": {"code": "METHOD_NOT_ALLOWED", "message": "Ñope ✓", "request_id": "req-1"}},
        ensure_ascii=False,
        separators=(",", ":"),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Evil", "a\r\nSet-Cookie: x=1"), ("X-Evil", "nul\0"), ("X-Evil", "caf\u00e9"), ("Bad\nName", "v"), ("", "v")],
)
def test_unsafe_headers_are_dropped_not_sent(name: str, value: str) -> None:
    response = build_response(APIError(headers={name: value, "X-Fine": "ok"}), render_envelope, CTX)
    assert response.headers == (("Content-Type", "application/json"), ("X-Fine", "ok"))


def test_error_cannot_override_content_type() -> None:
    response = build_response(APIError(headers={"content-type": "text/html"}), render_envelope, CTX)
    assert response.headers == (("Content-Type", "application/json"),)


def test_unserialisable_details_become_strings() -> None:
    response = build_response(APIError(details={"when": object}), render_envelope, CTX)
    assert json.loads(response.body)["error"]["details"] == {"when": str(object)}


def test_custom_renderer_is_a_plain_callable() -> None:
    def render(error: APIError, context: RenderContext) -> RenderedBody:
        return RenderedBody("application/vnd.acme+json", {"oops": error.code, "trace": context.request_id})

    response = build_response(NotFound(), render, CTX)
    assert response.media_type == "application/vnd.acme+json"
    assert json.loads(response.body) == {"oops": "NOT_FOUND", "trace": "req-1"}


def test_lone_surrogates_are_escaped_not_fatal() -> None:
    response = build_response(APIError(details={"text": "bad \ud800 half"}), render_envelope, CTX)
    assert response.body.isascii()
    assert json.loads(response.body)["error"]["details"] == {"text": "bad \ud800 half"}
