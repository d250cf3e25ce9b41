"""API keys in a SQL database: :class:`SQLKeyStore` and :func:`key_table` (the ``sqlalchemy`` extra).

Where to import them from; they live with the other stores, in ``backendkit.apikeys._stores.sql``.
"""

from __future__ import annotations

from backendkit.apikeys._stores.sql import DEFAULT_TABLE, DEFAULT_TIMEOUT, OWNER_LENGTH, SQLKeyStore, key_table

__all__ = ["DEFAULT_TABLE", "DEFAULT_TIMEOUT", "OWNER_LENGTH", "SQLKeyStore", "key_table"]
