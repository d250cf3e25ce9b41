"""Pagination backends, each a small module on top of ``backendkit.pagination.backend``.

- ``sequence``: lists and any sequence, in memory (pure);
- ``sqlalchemy``: SQLAlchemy 2.0 ``select()``, sync and asyncio sessions (extra ``sqlalchemy``);
- ``django``: Django QuerySets, sync and async (extra ``django``).
"""

__all__: list[str] = []
