"""HTTP semantics on Django: preconditions in views, deprecated views and URL patterns, atomic versioned updates.

``ErrorMiddleware`` does the rest from ``BACKENDKIT["CONDITIONAL_REQUESTS"]`` and
``BACKENDKIT["VERSIONING"]`` (objects, mappings of their arguments, or dotted paths to
them): it tags 200 GET/HEAD answers with an ETag and answers 304 when the client's copy
is current, resolves the version a request asked for (``request.api_version``, and
:func:`backendkit.http.get_api_version`), answers an unknown one 404/400
``UNSUPPORTED_VERSION``, and puts the deprecation headers on every answer of a deprecated
version or view, errors included::

    BACKENDKIT = {
        "CONDITIONAL_REQUESTS": True,
        "VERSIONING": "myproject.api.VERSIONS",   # a backendkit.http.Versioning
    }

Example:
    >>> from datetime import datetime, timezone
    >>> from django.http import HttpRequest, JsonResponse
    >>> from backendkit.django.http import deprecated
    >>> from backendkit.http import Deprecation
    >>> @deprecated(Deprecation(datetime(2026, 1, 1, tzinfo=timezone.utc), link="https://example.com/v2"))
    ... def old_report(request: HttpRequest) -> JsonResponse:
    ...     return JsonResponse({"ok": True})
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.db.models import F, Model, QuerySet
from django.urls import URLPattern, URLResolver

from backendkit.django._http import HTTP_EXCHANGE, header_getter, route_exchange
from backendkit.http import (
    Deprecation,
    HttpExchange,
    Preconditions,
    not_updated,
    request_preconditions,
    version_number,
)

F_ = TypeVar("F_", bound=Callable[..., Any])
Pattern = URLPattern | URLResolver


def preconditions(request: Any, *, required: bool = False) -> Preconditions:
    """This request's :class:`~backendkit.http.Preconditions` (``If-Match``, ``If-None-Match``, the dates).

    Call it first in a view that changes a resource, before reading the body; then
    ``.check(etag=...)`` against the resource's current tag, or pass
    ``.expected_version`` to :func:`update_if_version`. Takes a Django or a DRF request.

    Args:
        request: The request.
        required: Refuse an unsafe request that sends no precondition (the lost update).

    Raises:
        PreconditionRequired: 428 ``PRECONDITION_REQUIRED``: ``required``, and an unsafe
            request with no ``If-Match``, ``If-None-Match: *`` or ``If-Unmodified-Since``.
        BadRequest: 400 ``MALFORMED_PRECONDITION`` for a malformed ``If-Match``.

    Example:
        >>> from django.http import HttpRequest, JsonResponse
        >>> def put_note(request: HttpRequest, pk: int) -> JsonResponse:
        ...     asked = preconditions(request, required=True)
        ...     version = update_if_version(Note.objects, pk, asked.expected_version, text="...")
        ...     response = JsonResponse({"id": pk, "version": version})
        ...     response["ETag"] = str(ETag.for_version(version))
        ...     return response
    """
    meta = request.META
    exchange: HttpExchange | None = meta.get(HTTP_EXCHANGE)
    return request_preconditions(exchange, request.method or "GET", header_getter(meta), required=required)


def deprecated(deprecation: Deprecation) -> Callable[[F_], F_]:
    """Mark a view deprecated: its answers, errors included, carry ``Deprecation``, ``Sunset`` and ``Link``.

    Past a sunset with ``gone_after_sunset``, the view is not called: 410 ``GONE``.
    Put it above every other decorator (authentication, limits), so that a retired view
    answers 410 before anything else. Sync and async views alike; a class-based view's
    ``as_view()`` or, through Django's ``method_decorator``, one of its methods. The
    access line of each call says ``"deprecated": true``. A view's own deprecation wins
    over its API version's.
    """

    def decorate(view: F_) -> F_:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def marked_async(request: Any, *args: Any, **kwargs: Any) -> Any:
                route_exchange(request).deprecate(deprecation, now=time.time())
                return await view(request, *args, **kwargs)

            return marked_async  # type: ignore[return-value]

        @functools.wraps(view)
        def marked(request: Any, *args: Any, **kwargs: Any) -> Any:
            route_exchange(request).deprecate(deprecation, now=time.time())
            return view(request, *args, **kwargs)

        return marked  # type: ignore[return-value]

    return decorate


def deprecate(patterns: Sequence[Pattern], deprecation: Deprecation) -> list[Pattern]:
    """A list of URL patterns whose every view is :func:`deprecated` (includes in it too), for ``include()``.

    Example:
        >>> from datetime import datetime, timezone
        >>> from django.http import HttpRequest, JsonResponse
        >>> from django.urls import include, path
        >>> def report(request: HttpRequest) -> JsonResponse:
        ...     return JsonResponse({})
        >>> old = Deprecation(datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> urlpatterns = [path("old/", include(deprecate([path("report", report)], old)))]
    """
    mark = deprecated(deprecation)
    out: list[Pattern] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = deprecate(pattern.url_patterns, deprecation)
            out.append(URLResolver(pattern.pattern, inner, pattern.default_kwargs, pattern.app_name, pattern.namespace))
        else:
            out.append(URLPattern(pattern.pattern, mark(pattern.callback), pattern.default_args, pattern.name))
    return out


def _manager(rows: Any) -> QuerySet[Any]:
    """A model's, a manager's or a queryset's rows, as a queryset."""
    if isinstance(rows, type) and issubclass(rows, Model):
        rows = rows._default_manager
    queryset: QuerySet[Any] = rows.all()  # (a Manager's or a QuerySet's)
    return queryset


def _guarded(queryset: QuerySet[Any], pk: Any, version_field: str, expected: int) -> QuerySet[Any]:
    """The one row to update, its version compared on the updated table itself.

    A queryset narrowed through a join would have Django move the whole ``WHERE``, the
    version test included, into a subquery on another alias of the table, which
    PostgreSQL does not re-check when a concurrent writer's commit releases the row: both
    writers would win. So the version is tested on the model's own table, and the
    narrowing rides along as ``pk IN (<the narrowed rows>)``.
    """
    model = queryset.model
    field = model._meta.get_field(version_field)
    if field.model not in (model, model._meta.concrete_model):  # (a proxy's field is its concrete model's)
        raise ValueError(
            f"{version_field!r} is a field of {field.model.__name__}, a parent table: the update would "
            "not be one statement on the version's row (multi-table inheritance)"
        )
    target: QuerySet[Any] = model._base_manager.db_manager(queryset.db).filter(pk=pk, **{version_field: expected})
    if queryset.query.has_filters():
        target = target.filter(pk__in=queryset.values("pk"))
    return target


def update_if_version(
    rows: QuerySet[Any] | Any, pk: Any, version: int | str | None, /, *, version_field: str = "version", **values: Any
) -> int:
    """Update one row only if its version is still ``version``, in ONE statement; answer its new version.

    ``UPDATE ... SET <values>, version = version + 1 WHERE pk = %s AND version = %s``: two
    writers that read the same version cannot both win, whatever the isolation level, as
    the database decides between them on the row itself. No row updated: one more query
    tells a missing row (404) from a changed one (412, with its current ``ETag``).

    Args:
        rows: A model, a manager or a queryset (which may narrow the rows, e.g. to the user's).
        pk: The row's primary key.
        version: What the client read: :attr:`Preconditions.expected_version` (a string)
            or an int; None (no single ``"v<version>"`` tag) never matches.
        version_field: The integer column counting the row's changes.
        **values: The fields to set (``F()`` expressions too).

    Raises:
        NotFound: 404, no such row (in ``rows``).
        PreconditionFailed: 412 ``PRECONDITION_FAILED`` with the current ``ETag`` (``"v<version>"``).
    """
    if version_field in values:
        raise ValueError(f"{version_field!r} is counted by update_if_version, not set")
    queryset = _manager(rows)
    expected = version_number(version)
    if expected is not None:
        changes = {**values, version_field: F(version_field) + 1}
        if _guarded(queryset, pk, version_field, expected).update(**changes):
            return expected + 1
    current = queryset.filter(pk=pk).values_list(version_field, flat=True).first()
    raise not_updated(current)


async def aupdate_if_version(
    rows: QuerySet[Any] | Any, pk: Any, version: int | str | None, /, *, version_field: str = "version", **values: Any
) -> int:
    """:func:`update_if_version` for async views (Django's ``aupdate``; the same one statement)."""
    if version_field in values:
        raise ValueError(f"{version_field!r} is counted by update_if_version, not set")
    queryset = _manager(rows)
    expected = version_number(version)
    if expected is not None:
        changes = {**values, version_field: F(version_field) + 1}
        if await _guarded(queryset, pk, version_field, expected).aupdate(**changes):
            return expected + 1
    current = await queryset.filter(pk=pk).values_list(version_field, flat=True).afirst()
    raise not_updated(current)


__all__ = ["aupdate_if_version", "deprecate", "deprecated", "preconditions", "update_if_version"]
