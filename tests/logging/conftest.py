"""Helpers for the logging tests: records with fixed times, and lines captured as they are emitted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from backendkit.logging import JSONFormatter

FIXED_TIME = 1_764_000_000.123456  # 2025-11-24T16:00:00.123Z


def make_record(
    message: str = "hello",
    *,
    level: int = logging.INFO,
    name: str = "app",
    args: Any = (),
    extra: dict[str, Any] | None = None,
    exc_info: Any = None,
) -> logging.LogRecord:
    record = logging.getLogger(name).makeRecord(name, level, "app.py", 10, message, args, exc_info, extra=extra)
    record.created = FIXED_TIME
    return record


def line(formatter: JSONFormatter, record: logging.LogRecord) -> dict[str, Any]:
    text = formatter.format(record)
    assert "\n" not in text
    parsed: dict[str, Any] = json.loads(text)
    return parsed


@pytest.fixture
def isolated_logging() -> Iterator[io.StringIO]:
    """Run configure_logging into a buffer, then put root logging and structlog back."""
    import structlog

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
