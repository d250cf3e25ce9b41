"""Pagination for FastAPI: a dependency whose query parameters show in OpenAPI, and the page response.

Examples:
    >>> from fastapi import Depends, FastAPI
    >>> from fastapi.testclient import TestClient
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.pagination import page_request, page_response
    >>> from backendkit.pagination import PageRequest, Pagination, SortSpec
    >>> app = FastAPI()
    >>> install(app)
    >>> ITEMS = [{"id": i} for i in range(1, 31)]
    >>> PAGES = Pagination(sort=SortSpec(["id"], default="id"), secrets=["a-secret-of-at-least-16-bytes"])
    >>> @app.get("/items")
    ... def items(pages: PageRequest = Depends(page_request(PAGES))):
    ...     return page_response(PAGES.paginate_sequence(ITEMS, pages))
    >>> TestClient(app).get("/items?page=2&per_page=10").json()["pagination"]["next_page"]
    3

The parameters are declared as text and checked by backendkit, not by FastAPI, so
a bad value is the same 400 (``INVALID_PAGE_SIZE``...) as on Flask and Django, not a
422; their OpenAPI schemas say what backendkit accepts (integers and their ranges,
the sort fields, the filters' types).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import Query, Request, Response

from backendkit._deprecation import renamed
from backendkit.errors import encode
from backendkit.pagination import Page, PageRequest, Pagination
from backendkit.pagination._read import read_page_request

__all__ = ["page_request", "page_response"]


def _schema(exact: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """A ``json_schema_extra`` that documents the parameter as ``exact``: it is taken as text and checked
    by backendkit, so FastAPI's own schema (any text) would tell less than the truth."""

    def document(schema: dict[str, Any]) -> None:
        title = schema.get("title")
        schema.clear()
        schema.update(exact)
        if title is not None:
            schema["title"] = title

    return document


def page_request(pagination: Pagination) -> Callable[..., Awaitable[PageRequest]]:
    """A dependency that returns the validated :class:`~backendkit.pagination.PageRequest`.

    ``page_request`` on every framework: here the dependency that reads it, as FastAPI reads a request.

    Use it as ``pages: PageRequest = Depends(page_request(PAGES))``; every parameter
    it reads is listed in the route's OpenAPI parameters with its real type and range.
    """

    # async: reading the query is pure work, and FastAPI sends a plain ``def`` dependency to its thread pool.
    async def dependency(request: Request, **_: Any) -> PageRequest:
        return read_page_request(pagination, request.scope.get("query_string", b""), path=request.url.path)

    parameters = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
    parameters.extend(
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=Query(None, description=parameter.description, json_schema_extra=_schema(parameter.schema)),
            annotation=str | None,
        )
        for name, parameter in ((p.name, p) for p in pagination.query_parameters())
    )
    dependency.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return dependency


def page_response(page: Page[Any], data: Sequence[Any] | None = None, *, status_code: int = 200) -> Response:
    """A JSON response with the page's body (``data`` or its items) and its ``Link`` header."""
    return Response(
        encode(page.body(data)), status_code=status_code, media_type="application/json", headers=dict(page.headers())
    )


__getattr__ = renamed(__name__, {"page_params": ("page_request", page_request)})
