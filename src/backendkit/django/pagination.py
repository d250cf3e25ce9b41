"""Pagination for Django: read the parameters, page a QuerySet, answer with the body and ``Link`` header.

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

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse

from backendkit.errors import encode
from backendkit.pagination import (
    Condition,
    Page,
    PageRequest,
    Pagination,
    parse_query,
    seek,
)
from backendkit.pagination._counts import Estimate, count_cap, total_from
from backendkit.pagination._keyset import travel_keys

__all__ = ["apaginate", "page_request", "page_response", "paginate"]

Values = Callable[[Any], tuple[Any, ...]]
_LOOKUPS = {"eq": "exact", "gt": "gt", "lt": "lt"}


def page_request(request: HttpRequest, pagination: Pagination) -> PageRequest:
    """The page ``request`` asks for, validated against ``pagination``."""
    return pagination.parse(parse_query(_raw_query(request)), now=time.time(), path=request.path)


def page_response(page: Page[Any], data: Sequence[Any] | None = None, *, status: int = 200) -> HttpResponse:
    """A JSON response with the page's body (``data`` or its items) and its ``Link`` header."""
    body = encode(page.body(data))
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in page.headers():
        response[name] = value
    return response


def paginate(
    queryset: QuerySet[Any],
    request: PageRequest,
    *,
    fields: Mapping[str, str] | None = None,
    values: Values | None = None,
) -> Page[Any]:
    """One page of ``queryset`` (filtered already; its own ordering is replaced).

    Args:
        queryset: Any QuerySet, of model instances or of ``.values()`` dicts.
        request: From :func:`page_request`.
        fields: Sort name → ORM lookup path, where they differ (``{"author": "author__name"}``).
        values: Reads an item's sort-key values, where they are not its attributes of those names.
    """
    plan = _Plan(queryset, request, fields or {}, values)
    fetched: list[Any] = []
    for page in plan.pages:
        fetched.extend(plan.limited(page, len(fetched)))
        if len(fetched) >= plan.want:
            break
    window, total = request.window(fetched)
    if total is None:
        total = total_from(plan.strategy, plan.count.count() if plan.count is not None else None, queryset)
    return request.pagination.page(request, window, total=total, values=plan.read)


async def apaginate(
    queryset: QuerySet[Any],
    request: PageRequest,
    *,
    fields: Mapping[str, str] | None = None,
    values: Values | None = None,
) -> Page[Any]:
    """:func:`paginate` for async views (Django's async QuerySet API)."""
    plan = _Plan(queryset, request, fields or {}, values)
    fetched: list[Any] = []
    for page in plan.pages:
        fetched.extend([item async for item in plan.limited(page, len(fetched))])
        if len(fetched) >= plan.want:
            break
    window, total = request.window(fetched)
    if total is None:
        total = total_from(plan.strategy, await plan.count.acount() if plan.count is not None else None, queryset)
    return request.pagination.page(request, window, total=total, values=plan.read)


class _Plan:
    """The page query, the count query and the reader of sort values, for one request."""

    def __init__(
        self, queryset: QuerySet[Any], request: PageRequest, fields: Mapping[str, str], values: Values | None
    ) -> None:
        paths = {name: fields.get(name, name) for name in request.names}
        model = queryset.model
        keys = request.keyset_keys(lambda name: _nullable(model, paths[name]))
        position = request.position
        backward = position is not None and position.backward
        order = []
        for key in travel_keys(keys, backward):
            expression = F(paths[key.name])
            if key.nullable:
                order.append(expression.desc(nulls_first=True) if key.descending else expression.asc(nulls_last=True))
            else:
                order.append(expression.desc() if key.descending else expression.asc())
        # Without a sort (offset or page mode only), the QuerySet keeps its own ordering.
        page = queryset.order_by(*order) if order else queryset
        # One QuerySet per seek branch (see Seek.branches), fetched in turn until the page is full.
        self.want = request.limit + 1
        self.offset = request.offset if request.mode != "cursor" else 0
        self.pages: tuple[QuerySet[Any], ...] = (page,)
        if request.mode == "cursor" and position is not None:
            branches = seek(keys, position.values, backward=backward).branches
            self.pages = tuple(page.filter(_all(branch, paths)) for branch in branches)
        self.strategy = request.pagination.count_strategy(request.mode)
        self.count: QuerySet[Any] | None = None
        if self.strategy != "none" and not isinstance(self.strategy, Estimate):
            cap = count_cap(self.strategy)
            self.count = queryset.order_by() if cap is None else queryset.order_by()[:cap]
        names = request.names
        attributes = tuple(paths[name].replace("__", ".") for name in names)
        pairs = tuple(zip(names, attributes, strict=True))

        def read(item: Any) -> tuple[Any, ...]:
            return tuple(_read(item, name, attribute) for name, attribute in pairs)

        self.read: Values = values or read

    def limited(self, page: QuerySet[Any], have: int) -> QuerySet[Any]:
        limited: QuerySet[Any] = page[self.offset : self.offset + self.want - have]
        return limited


def _raw_query(request: HttpRequest) -> bytes:
    scope = getattr(request, "scope", None)
    if scope is not None:  # ASGI: the bytes as they came
        return bytes(scope.get("query_string", b""))
    # WSGI: PEP 3333 carries the bytes as latin-1 text.
    return str(request.META.get("QUERY_STRING", "")).encode("latin-1", "replace")


def _nullable(model: type[Model], path: str) -> bool:
    if "__" in path:
        return True
    try:
        field = model._meta.get_field(path)
    except FieldDoesNotExist:
        return True  # an annotation: assume the worst
    return bool(getattr(field, "null", True)) and not getattr(field, "primary_key", False)


def _read(item: Any, name: str, attribute: str) -> Any:
    if isinstance(item, Mapping):
        return item[name] if name in item else item[attribute.replace(".", "__")]
    value = item
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def _all(conditions: Sequence[Condition], paths: Mapping[str, str]) -> Q:
    both = Q()
    for c in conditions:
        path = paths[c.field]
        if c.op == "is_null":
            both &= Q(**{f"{path}__isnull": True})
        elif c.op == "not_null":
            both &= Q(**{f"{path}__isnull": False})
        else:
            both &= Q(**{f"{path}__{_LOOKUPS[c.op]}": c.value})
    return both
