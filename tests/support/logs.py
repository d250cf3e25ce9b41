"""Log lines captured as they are emitted, formatted by the JSON formatter."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from backendkit.logging import JSONFormatter


class LineCatcher(logging.Handler):
    """Formats each record when it is emitted (in the thread and context that logged it)."""

    def __init__(self, formatter: JSONFormatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[LineCatcher]:
    """Every JSON line logged (at INFO and above) while the test runs."""
    catcher = LineCatcher(JSONFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(catcher)
    root.setLevel(logging.INFO)
    try:
        yield catcher
    finally:
        root.removeHandler(catcher)
        root.setLevel(old_level)
