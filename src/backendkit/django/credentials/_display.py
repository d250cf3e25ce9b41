"""How the admin and ``manage.py apikeys`` show a key: its status, and its times as dates."""

from __future__ import annotations

from datetime import datetime, timezone

from django.conf import settings

from backendkit.apikeys import KeyRecord


def key_status(record: KeyRecord, now: float) -> str:
    """``revoked``, ``expired``, ``rotated`` (replaced, in its grace period) or ``active``."""
    refusal = record.refusal(now)
    if refusal is not None:
        return refusal
    return "rotated" if record.rotated_to else "active"


def when(seconds: float | None) -> datetime | None:
    """Seconds since the epoch as a datetime: aware (UTC) with ``USE_TZ``, else naive local time, as Django has them."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc) if settings.USE_TZ else datetime.fromtimestamp(seconds)


def utc(seconds: float | None) -> str:
    """Seconds since the epoch as an ISO 8601 UTC time to the second (``-`` for none)."""
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["key_status", "utc", "when"]
