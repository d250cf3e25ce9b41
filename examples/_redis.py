"""``BACKENDKIT_EXAMPLE_REDIS_URL``: where the examples keep what requests leave behind, when set.

Unset, each example keeps its state in memory, which is right for one process only.
Set (``redis://127.0.0.1:6379/0``), every piece of state a request leaves for the
next one lives in that Redis, so any number of worker processes (``gunicorn -w 4``,
``uvicorn --workers 4``) and of servers behave as one: revoked tokens
(``POST /auth/logout``), refresh-token families (``POST /auth/refresh``: a reuse is
caught whichever process sees it), the rate limit of ``GET /limited`` and the
idempotency keys of ``POST /tasks``. API keys live where ``BACKENDKIT_EXAMPLE_APIKEYS_URL``
says (``examples/_apikeys.py``). The tasks themselves stay in each process's memory: they are the
examples' stand-in for a database, not state backendkit keeps.
"""

from __future__ import annotations

import os


def url() -> str | None:
    """The Redis URL the examples share their state through, or ``None`` (memory, one process)."""
    return os.environ.get("BACKENDKIT_EXAMPLE_REDIS_URL") or None
