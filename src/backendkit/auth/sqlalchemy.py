"""Refresh-token families in SQL (the ``sqlalchemy`` extra): :class:`SQLRefreshStore` and its tables.

Where to import them from; they live with the other stores, in ``backendkit.auth._stores.refresh_sql``.
"""

from __future__ import annotations

from backendkit.auth._stores.refresh_sql import (
    DEFAULT_SQL_TIMEOUT,
    DEFAULT_TABLE_PREFIX,
    SQLRefreshStore,
    refresh_tables,
)

__all__ = ["DEFAULT_SQL_TIMEOUT", "DEFAULT_TABLE_PREFIX", "SQLRefreshStore", "refresh_tables"]
