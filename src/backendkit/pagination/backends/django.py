"""The Django QuerySet backend: pages of a QuerySet, in sync and async views.

``backendkit.django.pagination`` reads the page request from Django's request and
writes the response; this module pages the QuerySet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backendkit._extras import require

require("django", extra="django", module="backendkit.pagination.backends.django")

from django.core.exceptions import FieldDoesNotExist  # noqa: E402
from django.db.models import F, Model, Q, QuerySet  # noqa: E402

from backendkit.pagination.backend import (  # noqa: E402
    Condition,
    Page,
    PageRequest,
    Values,
    afinish,
    count_cap,
    counts_rows,
    finish,
)

__all__ = ["apaginate", "paginate"]

_LOOKUPS = {"eq": "exact", "gt": "gt", "lt": "lt"}


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
        request: The parsed request (``backendkit.django.pagination.page_request``).
        fields: Sort name → ORM lookup path, where they differ (``{"author": "author__name"}``).
        values: Reads an item's sort-key values, where they are not its attributes of those names.
    """
    query = _Query(queryset, request, fields or {})
    fetched: list[Any] = []
    for page in query.pages:
        fetched.extend(query.limited(page, len(fetched)))
        if len(fetched) >= query.want:
            break
    count = query.count
    counter = count.count if count is not None else None
    return finish(request, fetched, count=counter, subject=queryset, values=values or query.read)


async def apaginate(
    queryset: QuerySet[Any],
    request: PageRequest,
    *,
    fields: Mapping[str, str] | None = None,
    values: Values | None = None,
) -> Page[Any]:
    """:func:`paginate` for async views (Django's async QuerySet API)."""
    query = _Query(queryset, request, fields or {})
    fetched: list[Any] = []
    for page in query.pages:
        fetched.extend([item async for item in query.limited(page, len(fetched))])
        if len(fetched) >= query.want:
            break
    count = query.count
    counter = count.acount if count is not None else None
    return await afinish(request, fetched, count=counter, subject=queryset, values=values or query.read)


class _Query:
    """The QuerySets of one page (one per seek branch, fetched in turn), the count, and the value reader."""

    def __init__(self, queryset: QuerySet[Any], request: PageRequest, fields: Mapping[str, str]) -> None:
        paths = {name: fields.get(name, name) for name in request.names}
        model = queryset.model
        plan = request.fetch_plan(lambda name: _nullable(model, paths[name]))
        order = []
        for key in plan.order:
            expression = F(paths[key.name])
            if key.nullable:
                order.append(expression.desc(nulls_first=True) if key.descending else expression.asc(nulls_last=True))
            else:
                order.append(expression.desc() if key.descending else expression.asc())
        # Without a sort (offset or page mode only), the QuerySet keeps its own ordering.
        page = queryset.order_by(*order) if order else queryset
        self.want = plan.want
        self.offset = plan.offset
        self.pages = tuple(page.filter(_all(branch, paths)) if branch else page for branch in plan.branches)
        self.count: QuerySet[Any] | None = None
        if counts_rows(request.count):
            cap = count_cap(request.count)
            self.count = queryset.order_by() if cap is None else queryset.order_by()[:cap]
        pairs = tuple((name, paths[name].replace("__", ".")) for name in request.names)

        def read(item: Any) -> tuple[Any, ...]:
            return tuple(_read(item, name, attribute) for name, attribute in pairs)

        self.read: Values = read

    def limited(self, page: QuerySet[Any], have: int) -> QuerySet[Any]:
        limited: QuerySet[Any] = page[self.offset : self.offset + self.want - have]
        return limited


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
