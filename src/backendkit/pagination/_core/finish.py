"""The step every backend ends with: the rows it fetched in, a :class:`Page` out.

A backend plans its query from :meth:`PageRequest.fetch_plan`, fetches, and hands
the rows to :func:`finish` (or :func:`afinish`): they cut the rows into a page,
take the total the page tells or count it (awaiting the count, and an async
``Estimate``, in the async twin), and sign the neighbouring cursors. So the sync
and async twins of a backend differ in their fetch loop only.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from backendkit.errors import ConfigurationError
from backendkit.pagination._core.counts import NOT_COUNTED, Estimate, Total, total_from_count
from backendkit.pagination._core.cursor import Position
from backendkit.pagination._core.keyset import Window
from backendkit.pagination._core.page import Page
from backendkit.pagination._core.request import PageRequest, Values, default_values
from backendkit.pagination._core.values import filters_text


def finish(
    request: PageRequest,
    fetched: Sequence[Any],
    *,
    count: Callable[[], int] | None = None,
    subject: Any = None,
    values: Values | None = None,
) -> Page[Any]:
    """The page of the rows a backend ``fetched`` (``want`` at most, in travel order).

    Args:
        request: The page request.
        fetched: The rows, as the backend's fetch plan gave them.
        count: Counts the rows (up to ``count_cap``), called only when the strategy
            counts and the page does not already tell the total.
        subject: What an ``Estimate`` is given (the filtered query, or the sequence).
        values: Reads an item's sort values, where they are not its attributes or keys.
    """
    window, total = request.window(fetched)
    if total is None:
        strategy = request.count
        if isinstance(strategy, Estimate):
            estimated = strategy.estimate(subject)
            if inspect.isawaitable(estimated):
                if inspect.iscoroutine(estimated):
                    estimated.close()
                raise ConfigurationError("an async Estimate needs the async backend (apaginate)")
            total = Total(int(estimated), "estimate")
        else:
            total = NOT_COUNTED if strategy == "none" or count is None else total_from_count(strategy, count())
    return page_of(request, window, total=total, values=values)


async def afinish(
    request: PageRequest,
    fetched: Sequence[Any],
    *,
    count: Callable[[], Awaitable[int]] | None = None,
    subject: Any = None,
    values: Values | None = None,
) -> Page[Any]:
    """:func:`finish` for async backends: the count is awaited, and so is an async ``Estimate``."""
    window, total = request.window(fetched)
    if total is None:
        strategy = request.count
        if isinstance(strategy, Estimate):
            estimated = strategy.estimate(subject)
            total = Total(int(await estimated if inspect.isawaitable(estimated) else estimated), "estimate")
        else:
            total = NOT_COUNTED if strategy == "none" or count is None else total_from_count(strategy, await count())
    return page_of(request, window, total=total, values=values)


def page_of(request: PageRequest, window: Window, *, total: Total, values: Values | None = None) -> Page[Any]:
    """Turn a :class:`Window` into a :class:`Page`, signing the neighbouring cursors (cursor mode)."""
    if request.mode != "cursor":
        return Page(window.items, request, window.has_next, window.has_prev, total)
    codec = request.codec
    assert codec is not None, "a cursor-mode request carries its codec"
    names = request.names
    read = values or (lambda item: default_values(item, names))
    ordering, filters = request.sort, filters_text(request.filters)

    def cursor(item: Any, backward: bool) -> str:
        return codec.encode(Position(tuple(read(item)), backward), ordering=ordering, filters=filters, now=request.now)

    items = window.items
    next_cursor = cursor(items[-1], False) if window.has_next and items else None
    prev_cursor = cursor(items[0], True) if window.has_prev and items else None
    per_item = tuple(cursor(item, False) for item in items) if request.item_cursors else None
    return Page(items, request, window.has_next, window.has_prev, total, next_cursor, prev_cursor, per_item)
