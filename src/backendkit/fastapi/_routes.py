"""What a FastAPI app's routes really answer, for the OpenAPI document and for HEAD.

FastAPI documents a 422 on every operation with a parameter, and nothing of the
errors the installed error handling sends (a malformed JSON body, a body of the
wrong type or size, a path the router's convertor refuses). These functions
correct the document from the routes themselves, and make every GET route
answer HEAD, as Flask, Django and Starlette's own routes do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.routing import APIRoute
from starlette.convertors import FloatConvertor, IntegerConvertor, PathConvertor, StringConvertor, UUIDConvertor

from backendkit.errors import status_title
from backendkit.fastapi._openapi import MARKER

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What each convertor lets through (the OpenAPI schema of the path parameter), and the type it gives.
_CONVERTED: dict[type[Any], tuple[type[Any], dict[str, Any]]] = {
    IntegerConvertor: (int, {"type": "integer", "minimum": 0}),
    FloatConvertor: (float, {"type": "number", "minimum": 0}),
    UUIDConvertor: (uuid.UUID, {"type": "string", "format": "uuid"}),
    StringConvertor: (str, {"type": "string", "pattern": "^[^/]+$"}),
    PathConvertor: (str, {"type": "string"}),
}


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every FastAPI route, in included routers and mounted sub-apps too."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif getattr(route, "routes", None) is not None:  # a Mount of a router or a sub-app
            yield from api_routes(route.routes)


def answer_head(routes: Iterable[Any]) -> list[APIRoute]:
    """Let every GET route answer HEAD (the server sends no body); returns the routes it changed."""
    changed = []
    for route in api_routes(routes):
        methods = route.methods
        if methods is not None and "GET" in methods and "HEAD" not in methods:
            methods.add("HEAD")
            changed.append(route)
    return changed


@contextmanager
def head_hidden(routes: list[APIRoute]) -> Iterator[None]:
    """While FastAPI writes its OpenAPI document: the routes :func:`answer_head` changed answer GET only.

    FastAPI writes an operation for every method of a route; a HEAD twin of each GET
    would repeat its operation id (and warn about it).
    """
    for route in routes:
        if route.methods is not None:
            route.methods.discard("HEAD")
    try:
        yield
    finally:
        for route in routes:
            if route.methods is not None:
                route.methods.add("HEAD")


def document_routes(schema: dict[str, Any], routes: Iterable[Any], *, max_body_size: int | None) -> None:
    """Make each operation's responses and path parameters those the routes and the error handling give."""
    paths = schema.get("paths", {})
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        path_item = paths.get(route.path_format, {})
        convertors = getattr(route, "param_convertors", {})
        for method in _METHODS:
            operation = path_item.get(method)
            if method.upper() not in (route.methods or ()) or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                # The installed error handling: undecodable JSON, a body not declared as JSON,
                # and, with a body limit, one over it.
                _add(responses, 400, 415, *((413,) if max_body_size is not None else ()))
            refused = [p for p in operation.get("parameters", []) if p.get("in") == "path" and p["name"] in convertors]
            for parameter in refused:
                converted = _CONVERTED.get(type(convertors[parameter["name"]]))
                if converted is not None:
                    parameter["schema"] = {**parameter.get("schema", {}), **converted[1]}
            if refused:
                _add(responses, 404)  # a path the convertor refuses matches no route
            if "422" in responses and not _can_fail_validation(route, convertors):
                del responses["422"]  # FastAPI adds it to every operation with a parameter


def _add(responses: dict[str, Any], *statuses: int) -> None:
    for status in statuses:
        responses.setdefault(str(status), {"description": status_title(status), MARKER: True})


def _can_fail_validation(route: APIRoute, convertors: dict[str, Any]) -> bool:
    """Whether FastAPI can answer this route with a 422: a body, or a parameter that can be refused."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.body_params:
            return True
        for field in (*dependant.query_params, *dependant.header_params, *dependant.cookie_params):
            if not _optional_text(field):
                return True
        for field in dependant.path_params:
            converted = _CONVERTED.get(type(convertors.get(field.name)))
            if converted is None or _annotation(field) is not converted[0] or _constrained(field):
                return True
        pending.extend(dependant.dependencies)
    return False


def _annotation(field: Any) -> Any:
    return getattr(field.field_info, "annotation", None)


def _constrained(field: Any) -> bool:
    return bool(getattr(field.field_info, "metadata", None))


def _optional_text(field: Any) -> bool:
    """A parameter that takes any text and may be left out: nothing to refuse."""
    required = field.field_info.is_required()
    return not required and _annotation(field) in (str, str | None) and not _constrained(field)
