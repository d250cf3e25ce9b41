"""What a pagination backend is made of: everything a backend author needs, public, in one module.

A backend pages one kind of query (a list, a SQLAlchemy ``select()``, a Django
QuerySet). For one :class:`PageRequest` it:

1. plans: ``plan = request.fetch_plan(nullable)``, where ``nullable(name)`` says
   whether a sort column can hold NULL (NULL is greater than every value);
2. fetches up to ``plan.want`` rows, ordered by ``plan.order``, skipping
   ``plan.offset``, branch after branch of ``plan.branches`` (each branch is the
   AND of its :class:`Condition` objects) until it has enough;
3. finishes: ``return finish(request, fetched, count=..., subject=..., values=...)``,
   or ``await afinish(...)`` in an async backend. ``count`` is needed only when
   ``counts_rows(request.count)``, and counts at most ``count_cap(request.count)`` rows.

So a backend's sync and async twins differ in their fetch loop only. The list
backend, ``backendkit.pagination.backends.sequence``, is the smallest example.
"""

from __future__ import annotations

from backendkit.pagination._core.counts import CountStrategy, count_cap, counts_rows
from backendkit.pagination._core.finish import afinish, finish, page_of
from backendkit.pagination._core.keyset import Condition, KeysetKey, Seek, matches, seek, travel_keys
from backendkit.pagination._core.page import Page
from backendkit.pagination._core.request import FetchPlan, PageRequest, Values, default_values

__all__ = [
    "Condition",
    "CountStrategy",
    "FetchPlan",
    "KeysetKey",
    "Page",
    "PageRequest",
    "Seek",
    "Values",
    "afinish",
    "count_cap",
    "counts_rows",
    "default_values",
    "finish",
    "matches",
    "page_of",
    "seek",
    "travel_keys",
]
