"""The one place an adapter turns a request's query into a :class:`PageRequest`, telling observers what came of it."""

from __future__ import annotations

import time

from backendkit.observability._core.events import CursorRefused, PageServed
from backendkit.observability._hub import hub
from backendkit.pagination._core.errors import InvalidCursor
from backendkit.pagination._core.pagination import Pagination
from backendkit.pagination._core.query import parse_query
from backendkit.pagination._core.request import PageRequest


def read_page_request(pagination: Pagination, query: bytes, *, path: str) -> PageRequest:
    """``pagination.parse`` of a raw query string, now; the page's strategy, or the cursor's refusal, is observed."""
    try:
        request = pagination.parse(parse_query(query), now=time.time(), path=path)
    except InvalidCursor as refusal:
        if hub.observers:
            hub.emit(CursorRefused(str(refusal.details.get("reason", "other"))))
        raise
    if hub.observers:
        hub.emit(PageServed(request.mode))
    return request


__all__ = ["read_page_request"]
