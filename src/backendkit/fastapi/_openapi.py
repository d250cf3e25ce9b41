"""OpenAPI schemas of the error bodies, and the rewrite of FastAPI's generated document."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from backendkit.errors import render_envelope, render_problem, status_title

MARKER = "x-backendkit-error"
AUTH_STATUSES = "backendkit_statuses"
"""The attribute on an auth dependency listing the error statuses it can send."""
REQUIRED_HEADERS = "backendkit_required_headers"
"""The attribute on a dependency listing the headers it requires though it declares them optional."""
AUTH_SCOPES = "backendkit_scopes"
"""The attribute on an auth dependency: its security scheme's name and the scopes it requires."""
_REF = "#/components/schemas/"
_STR: dict[str, Any] = {"type": "string"}
_FIELD_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["field", "code", "message"],
    "properties": {
        "field": {"type": "string", "description": "Dotted path of the field."},
        "pointer": {"type": "string", "description": "RFC 6901 JSON pointer into the body."},
        "location": {"type": "string", "enum": ["query", "path", "header", "cookie"]},
        "code": {"type": "string", "description": "Stable machine code, such as 'missing'."},
        "message": _STR,
    },
}


def _envelope(details: dict[str, Any]) -> dict[str, Any]:
    body = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": _STR, "message": _STR, "details": details, "request_id": _STR},
    }
    return {"type": "object", "required": ["error"], "properties": {"error": body}}


_ENVELOPE_SCHEMAS = {
    "ErrorEnvelope": _envelope({"description": "Structured details; absent when there are none."}),
    "ValidationErrorEnvelope": _envelope({"type": "array", "items": {"$ref": _REF + "FieldError"}}),
    "FieldError": _FIELD_ERROR,
}
_PROBLEM_FIELD = {
    "type": "object",
    "required": ["detail", "field", "code"],
    "properties": {
        "detail": _STR,
        "pointer": {"type": "string", "description": "JSON pointer as a URI fragment ('#/title')."},
        "location": _FIELD_ERROR["properties"]["location"],
        "field": _STR,
        "code": _STR,
    },
}
_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": _STR,
        "status": {"type": "integer"},
        "detail": _STR,
        "instance": _STR,
        "code": _STR,
        "request_id": _STR,
        "errors": {"type": "array", "items": {"$ref": _REF + "ProblemFieldError"}},
        "details": {},
    },
}
_PROBLEM_SCHEMAS = {"ProblemDetails": _PROBLEM, "ProblemFieldError": _PROBLEM_FIELD}


def _flavour(renderer: Callable[..., Any]) -> tuple[str, dict[str, Any], str, str] | None:
    if renderer is render_envelope:
        return "application/json", _ENVELOPE_SCHEMAS, "ErrorEnvelope", "ValidationErrorEnvelope"
    if renderer is render_problem:
        return "application/problem+json", _PROBLEM_SCHEMAS, "ProblemDetails", "ProblemDetails"
    return None


def rewrite(schema: dict[str, Any], renderer: Callable[..., Any]) -> None:
    """Document every 422 and every response marked by ``error_responses`` with the error schema."""
    flavour = _flavour(renderer)
    media_type, components, general, validation = flavour or ("application/json", {}, "", "")
    used = False
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if status == "422" or response.pop(MARKER, False):
                    name = validation if status == "422" else general
                    body = {"schema": {"$ref": _REF + name}} if name else {"schema": {}}
                    response["content"] = {media_type: body}
                    used = True
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    if used:
        schemas.update(components)
    # FastAPI's own 422 schemas go once nothing points at them any more; an app
    # model that happens to share the name and is still referenced stays.
    for name in ("HTTPValidationError", "ValidationError"):
        if name in schemas and f'"{_REF}{name}"' not in json.dumps(schema):
            del schemas[name]


def document_reports(schema: dict[str, Any], path: str, max_bytes: int) -> None:
    """Document the CSP report endpoint the request-context middleware serves at ``path``."""
    report = {
        "type": "object",
        "description": "A CSP violation report, as browsers send it.",
        "required": ["csp-report"],
        "properties": {"csp-report": {"type": "object"}},
    }
    entry = {
        "type": "object",
        "required": ["type", "body"],
        "properties": {"type": {"type": "string"}, "body": {"type": "object"}},
    }
    listed = {"type": "array", "items": entry, "description": "Reporting API reports (csp-violation ones are taken)."}
    schema.setdefault("paths", {})[path] = {
        "post": {
            "summary": "Take CSP violation reports into the log",
            "operationId": "csp_report",
            "tags": ["security"],
            "requestBody": {
                "required": True,
                "description": f"At most {max_bytes} bytes.",
                "content": {
                    "application/csp-report": {"schema": report},
                    "application/reports+json": {"schema": listed},
                },
            },
            "responses": {
                "204": {"description": "Logged."},
                **{str(k): v for k, v in error_responses(400, 413, 415, 429).items()},
            },
        }
    }


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries that document these error statuses with the installed format.

    Example:
        >>> from backendkit.fastapi import error_responses
        >>> sorted(error_responses(404, 409))
        [404, 409]
    """
    return {status: {"description": status_title(status), MARKER: True} for status in statuses}
