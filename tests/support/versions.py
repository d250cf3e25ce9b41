"""The installed release of a dependency, for the few answers that differ on the oldest ones we allow."""

from __future__ import annotations

from importlib.metadata import version


def release(distribution: str) -> tuple[int, ...]:
    """``(major, minor)`` of the installed ``distribution``: ``release("fastapi") < (0, 132)``."""
    return tuple(int(part) for part in version(distribution).split(".")[:2] if part.isdigit())
