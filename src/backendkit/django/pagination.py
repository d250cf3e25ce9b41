"""Pagination for Django: read the parameters, answer with the body and ``Link`` header.

The QuerySet backend (``paginate``, ``apaginate``) lives in
``backendkit.pagination.backends.django`` and is here too, for one import.

Example view::

    TASKS = Pagination(sort=SortSpec(["priority", "created_at", "id"], default="-priority"),
                       secrets=[settings.CURSOR_SECRET])

    def tasks(request):
        page = paginate(Task.objects.filter(done=False), page_request(request, TASKS))
        return page_response(page, [task_json(t) for t in page.items])

``apaginate`` does the same in an async view. A bad parameter raises a 400
(``INVALID_PAGE_SIZE``, ``INVALID_CURSOR``...) that ``ErrorMiddleware`` renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse

from backendkit.errors import encode
from backendkit.pagination import Page, PageRequest, Pagination
from backendkit.pagination._read import read_page_request
from backendkit.pagination.backends.django import apaginate, paginate

__all__ = ["apaginate", "page_request", "page_response", "paginate"]


def page_request(request: HttpRequest, pagination: Pagination) -> PageRequest:
    """The page ``request`` asks for, validated against ``pagination``."""
    return read_page_request(pagination, _raw_query(request), path=request.path)


def page_response(page: Page[Any], data: Sequence[Any] | None = None, *, status: int = 200) -> HttpResponse:
    """A JSON response with the page's body (``data`` or its items) and its ``Link`` header."""
    body = encode(page.body(data))
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in page.headers():
        response[name] = value
    return response


def _raw_query(request: HttpRequest) -> bytes:
    scope = getattr(request, "scope", None)
    if scope is not None:  # ASGI: the bytes as they came
        return bytes(scope.get("query_string", b""))
    # WSGI: PEP 3333 carries the bytes as latin-1 text.
    return str(request.META.get("QUERY_STRING", "")).encode("latin-1", "replace")
