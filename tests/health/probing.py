"""What every probe answer must be, whatever state the dependencies are in: a complete health+json document."""

from __future__ import annotations

import json
import logging
from typing import Any

from backendkit.health import MEDIA_TYPE
from tests.support.net import Reply

# Text that would mean an exception, a traceback or a connection string reached a body.
NEVER_SHOWN = ("Traceback", "Error", "Exception", "redis://", "postgresql://", "127.0.0.1", "Connection")


def health_document(reply: Reply) -> dict[str, Any]:
    """The parsed body of a probe's answer, after checking it is a whole health+json document."""
    assert reply.status in (200, 503), reply
    assert reply.headers["content-type"] == MEDIA_TYPE, reply
    assert reply.headers["cache-control"] == "no-store", reply
    text = reply.body.decode("utf-8")
    for word in NEVER_SHOWN:
        assert word not in text, reply
    document = json.loads(text)
    assert isinstance(document, dict), reply
    assert set(document) <= {"status", "checks", "notes"}, reply
    assert document["status"] in ("pass", "warn", "fail"), reply
    assert (reply.status == 503) == (document["status"] == "fail"), reply
    for name, entries in document.get("checks", {}).items():
        assert ":" in name or name.isidentifier(), reply
        for entry in entries:
            assert entry["status"] in ("pass", "warn", "fail"), reply
            assert entry["time"].endswith("Z"), reply
    return document


class Records(logging.Handler):
    """Every record at ``level`` or above that reaches the loggers it is attached to."""

    def __init__(self, level: int = logging.ERROR) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
