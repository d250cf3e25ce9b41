"""FastAPI: validation errors, HTTPException, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Query
from fastapi.testclient import TestClient
from openapi_spec_validator import validate as validate_openapi
from pydantic import BaseModel

from backendkit.errors import RenderContext, RenderedBody
from backendkit.fastapi import error_responses, install


class Item(BaseModel):
    name: str
    price: float


def make_app(**options: Any) -> FastAPI:
    app = FastAPI()
    install(app, **options)

    @app.post("/items", status_code=201, responses=error_responses(409))
    def create(item: Item) -> Item:
        return item

    @app.get("/search")
    def search(limit: int = Query(default=10, ge=1, le=100)) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(status_code=418, detail="I refuse.")

    return app


def test_query_errors_carry_their_location() -> None:
    r = TestClient(make_app()).get("/search", params={"limit": "lots"})
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [
        {
            "field": "limit",
            "location": "query",
            "code": "int_parsing",
            "message": "Input should be a valid integer, unable to parse string as an integer",
        }
    ]
    assert "lots" not in r.text


def test_unknown_status_http_exception() -> None:
    r = TestClient(make_app()).get("/teapot")
    assert r.status_code == 418
    assert r.json()["error"] == {"code": "HTTP_ERROR", "message": "I refuse.", "request_id": r.headers["x-request-id"]}


def test_openapi_documents_the_envelope() -> None:
    schema = make_app().openapi()
    validate_openapi(schema)
    post = schema["paths"]["/items"]["post"]["responses"]
    assert post["422"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrorEnvelope"}}
    }
    assert post["409"] == {
        "description": "Conflict",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert "ValidationError" not in components
    assert {"ErrorEnvelope", "ValidationErrorEnvelope", "FieldError"} <= set(components)
    assert "x-backendkit-error" not in str(schema)


def test_openapi_documents_problem_details() -> None:
    schema = make_app(error_format="problem").openapi()
    validate_openapi(schema)
    responses = schema["paths"]["/search"]["get"]["responses"]
    assert responses["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    }
    assert "ErrorEnvelope" not in schema["components"]["schemas"]


def test_openapi_with_a_custom_renderer_stays_valid() -> None:
    def render(error: Any, context: RenderContext) -> RenderedBody:
        return RenderedBody("application/json", {"oops": error.code})

    app = make_app(error_format=render)
    schema = app.openapi()
    validate_openapi(schema)
    assert schema["paths"]["/search"]["get"]["responses"]["422"]["content"] == {"application/json": {"schema": {}}}
    assert app.openapi() is schema  # cached, not rewritten twice


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
def test_docs_routes_still_work(path: str) -> None:
    assert TestClient(make_app()).get(path).status_code == 200


class ValidationError(BaseModel):
    """An app's own model that happens to share the name of FastAPI's 422 schema."""

    rule: str


def test_an_app_model_named_validation_error_survives() -> None:
    app = FastAPI()
    install(app)

    @app.get("/rules")
    def rules() -> list[ValidationError]:
        return []

    schema = app.openapi()
    validate_openapi(schema)
    assert schema["components"]["schemas"]["ValidationError"]["properties"] == {
        "rule": {"title": "Rule", "type": "string"}
    }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
