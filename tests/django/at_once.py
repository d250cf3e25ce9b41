"""Concurrent Django ORM callers for the concurrency tests: each in a thread of its own, on its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def at_once(tasks: list[Callable[[], Any]]) -> list[Any]:
    """Each task in a thread of its own, released together, each on its own connection (closed after)."""
    start = threading.Barrier(len(tasks))
    results: list[Any] = [None] * len(tasks)

    def run(i: int) -> None:
        try:
            start.wait(timeout=30)
            results[i] = tasks[i]()
        except Exception as exc:  # reported by the test, not lost in the thread
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
