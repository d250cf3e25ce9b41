"""Pagination for Flask: read the parameters, answer with the body and ``Link`` header.

Examples:
    >>> from flask import Flask
    >>> from backendkit.flask import BackendKit
    >>> from backendkit.flask.pagination import page_request, page_response
    >>> from backendkit.pagination import Pagination, SortSpec
    >>> app = Flask(__name__)
    >>> _ = BackendKit(app)
    >>> ITEMS = [{"id": i} for i in range(1, 31)]
    >>> PAGES = Pagination(sort=SortSpec(["id"], default="id"), secrets=["a-secret-of-at-least-16-bytes"])
    >>> @app.get("/items")
    ... def items():
    ...     return page_response(PAGES.paginate_sequence(ITEMS, page_request(PAGES)))
    >>> app.test_client().get("/items?page=2&per_page=10").json["pagination"]["next_page"]
    3

A bad parameter raises a 400 (``INVALID_PAGE_SIZE``, ``INVALID_CURSOR``...) that the
extension renders like every other error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response, request

from backendkit.errors import APIError, encode
from backendkit.flask._state import refuse
from backendkit.pagination import Page, PageRequest, Pagination
from backendkit.pagination._read import read_page_request

__all__ = ["page_request", "page_response"]


def page_request(pagination: Pagination) -> PageRequest:
    """The page the current request asks for, validated against ``pagination``."""
    path = request.script_root + request.path
    try:
        return read_page_request(pagination, request.query_string, path=path)
    except APIError as refusal:
        refuse(refusal)  # (the extension renders it; without the extension, the default settings do)


def page_response(page: Page[Any], data: Sequence[Any] | None = None, *, status: int = 200) -> Response:
    """A JSON response with the page's body (``data`` or its items) and its ``Link`` header."""
    return Response(encode(page.body(data)), status=status, mimetype="application/json", headers=page.headers())
