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

import fastapi.routing
from fastapi.routing import APIRoute
from starlette.convertors import FloatConvertor, IntegerConvertor, PathConvertor, StringConvertor, UUIDConvertor

from backendkit.errors import status_title
from backendkit.fastapi._openapi import AUTH_SCOPES, AUTH_STATUSES, MARKER, REQUIRED_HEADERS

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What each convertor lets through (the OpenAPI schema of the path parameter), and the type it gives.
_CONVERTED: dict[type[Any], tuple[type[Any], dict[str, Any]]] = {
    IntegerConvertor: (int, {"type": "integer", "minimum": 0}),
    FloatConvertor: (float, {"type": "number", "minimum": 0}),
    UUIDConvertor: (uuid.UUID, {"type": "string", "format": "uuid"}),
    StringConvertor: (str, {"type": "string", "pattern": "^[^/]+$"}),
    PathConvertor: (str, {"type": "string"}),
}


def route_contexts(routes: Iterable[Any]) -> Iterator[tuple[Any, APIRoute]]:
    """Each FastAPI route of one router as it is served: (the route as matched, the route as declared).

    Since FastAPI 0.16x an included router stays one entry of the parent's routes,
    and the route as matched is FastAPI's context for it (the prefix in its path,
    the router's responses, a copy of its methods); before, ``include_router``
    copied the routes, and both are the same ``APIRoute``. Mounted applications
    are left alone: they have routes, a document and an installation of their own.
    """
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:  # FastAPI before included routers kept their own routes
        for route in routes:
            if isinstance(route, APIRoute):
                yield route, route
        return
    for context in contexts(list(routes)):
        declared = context.original_route
        if isinstance(declared, APIRoute):
            yield context, declared


def _method_sets(context: Any, declared: APIRoute) -> list[set[str]]:
    """The methods of a route as matched and as declared (one set, or a copy each)."""
    sets = [methods for methods in (context.methods, declared.methods) if methods is not None]
    return sets[:1] if len(sets) == 2 and sets[0] is sets[1] else sets


def answer_head(routes: Iterable[Any], answering: set[int]) -> None:
    """Let every GET route answer HEAD (the server sends no body); remember which in ``answering``.

    A path with a HEAD route of the application's own keeps it: a GET route
    answering HEAD as well would come first and hide it.
    """
    contexts = list(route_contexts(routes))
    own_head = {
        context.path_format
        for context, declared in contexts
        if "HEAD" in (context.methods or ()) and id(declared) not in answering
    }
    for context, declared in contexts:
        methods = context.methods
        if methods and "GET" in methods and "HEAD" not in methods and context.path_format not in own_head:
            for changed in _method_sets(context, declared):
                changed.add("HEAD")
            answering.add(id(declared))


@contextmanager
def head_hidden(routes: Iterable[Any], answering: set[int]) -> Iterator[None]:
    """While FastAPI writes its OpenAPI document: the routes :func:`answer_head` changed answer GET only.

    FastAPI writes an operation for every method of a route; a HEAD twin of each GET
    would repeat its operation id (and warn about it).
    """
    hidden = [
        methods
        for context, declared in route_contexts(routes)
        if id(declared) in answering
        for methods in _method_sets(context, declared)
    ]
    for methods in hidden:
        methods.discard("HEAD")
    try:
        yield
    finally:
        for methods in hidden:
            methods.add("HEAD")


def document_routes(schema: dict[str, Any], routes: Iterable[Any], *, max_body_size: int | None) -> None:
    """Make each operation's responses and path parameters those the routes and the error handling give."""
    paths = schema.get("paths", {})
    for route, declared_route in route_contexts(routes):
        if not route.include_in_schema:
            continue
        path_item = paths.get(route.path_format, {})
        convertors = getattr(route, "param_convertors", {})
        declared = {str(status) for status in (route.responses or {})}
        for method in _METHODS:
            operation = path_item.get(method)
            if method.upper() not in (route.methods or ()) or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if "requestBody" in (route.openapi_extra or {}):
                # A body the endpoint reads itself (the refresh grant's form): FastAPI parses
                # nothing, and only the body limit refuses it before the endpoint.
                add_responses(responses, *((413,) if max_body_size is not None else ()))
            elif "requestBody" in operation:
                # The installed error handling: undecodable JSON, a body not declared as JSON,
                # and, with a body limit, one over it.
                add_responses(responses, 400, 415, *((413,) if max_body_size is not None else ()))
            refused = [p for p in operation.get("parameters", []) if p.get("in") == "path" and p["name"] in convertors]
            for parameter in refused:
                converted = _CONVERTED.get(type(convertors[parameter["name"]]))
                if converted is not None:
                    parameter["schema"] = _accepted(parameter.get("schema", {}), converted[1])
            if refused:
                add_responses(responses, 404)  # a path the convertor refuses matches no route
            sent_by_dependencies = _declared(declared_route.dependant, AUTH_STATUSES)
            if "422" in responses and "422" not in declared and not _can_fail_validation(route, convertors):
                del responses["422"]  # FastAPI adds it to every operation with a parameter
            # (after: a dependency's 422 is sent, validation or not)
            add_responses(responses, *sorted(sent_by_dependencies))
            required = _declared(declared_route.dependant, REQUIRED_HEADERS)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter["name"] in required:
                    parameter["required"] = True
            _add_scopes(operation, declared_route.dependant)


def _add_scopes(operation: dict[str, Any], dependant: Any) -> None:
    """The scopes the route's auth dependencies require, in its security requirements.

    FastAPI from 0.123 on lists them itself; before, only an OAuth2 or OpenID Connect
    scheme got its scopes, and a bearer scheme's requirement was an empty list.
    """
    scopes: dict[str, list[str]] = {}
    for dependency in resolution_order(dependant):
        for scheme, scope in getattr(dependency.call, AUTH_SCOPES, ()):
            if scope not in scopes.setdefault(scheme, []):
                scopes[scheme].append(scope)
    for requirement in operation.get("security", []):
        for scheme, listed in requirement.items():
            listed.extend(scope for scope in scopes.get(scheme, ()) if scope not in listed)


def resolution_order(dependant: Any) -> list[Any]:
    """The dependencies of ``dependant``, at any depth, in the order FastAPI resolves them (each after its own).

    A route's dependant lists the app's and routers' ``dependencies`` first, then the
    route's, then the endpoint's parameters; FastAPI resolves them in that order.
    """
    order: list[Any] = []
    for dependency in dependant.dependencies:
        order += resolution_order(dependency)
        order.append(dependency)
    return order


def _declared(dependant: Any, attribute: str) -> set[Any]:
    """What the route's dependencies, at any depth, list under ``attribute``.

    ``AUTH_STATUSES``: the error statuses they can send (authentication's 400, 401 and 403,
    idempotency keys' 400, 409 and 422). ``REQUIRED_HEADERS``: headers they refuse to go
    without though they declare them optional (to answer the 400 themselves).
    """
    return {found for dependency in resolution_order(dependant) for found in getattr(dependency.call, attribute, ())}


def _accepted(documented: dict[str, Any], converted: dict[str, Any]) -> dict[str, Any]:
    """The schema of a path parameter: what the convertor lets through and FastAPI then accepts.

    Of the same type, both schemas hold (the larger minimum). Of different types,
    the plain string convertor (``{id}``) lets any segment through and FastAPI's
    type decides; a typed convertor (``{id:int}``) decides what matches at all.
    """
    if documented.get("type") != converted["type"]:
        return documented if converted["type"] == "string" and "format" not in converted else converted
    merged = {**converted, **documented}
    if "minimum" in documented and "minimum" in converted:
        merged["minimum"] = max(documented["minimum"], converted["minimum"])
    return merged


def add_responses(responses: dict[str, Any], *statuses: int) -> None:
    """Document these error statuses (unless already documented) with the installed error format."""
    for status in statuses:
        responses.setdefault(str(status), {"description": status_title(status), MARKER: True})


def _can_fail_validation(route: Any, convertors: dict[str, Any]) -> bool:
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
