"""Set for the whole run, before anything imports Django (the docstring examples included)."""

from __future__ import annotations

import os

import pytest

from tests.support.versions import release

# One Django configuration for the whole process: the example's settings with a
# URLconf that adds the test-only routes.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_settings")

pytest_plugins = ["tests.support.logs"]  # the log_lines fixture, for every test

# Modules that define or register Django models import only once Django is set up (after collection);
# they hold no docstring examples.
collect_ignore_glob = ["src/backendkit/django/credentials/models.py", "src/backendkit/django/credentials/admin.py"]


def pytest_configure(config: pytest.Config) -> None:
    """Warnings stay errors, but for two that the TestClient of old Starlette releases raises itself.

    The suite also runs on the lowest versions pyproject.toml allows, with today's anyio. Starlette's
    TestClient names ``anyio.abc.BlockingPortal`` (an alias anyio now deprecates) before 1.7, and leaves
    the memory streams of its lifespan unclosed (anyio warns when they are collected) before 0.47.
    backendkit itself creates no memory streams and names no such alias.
    """
    starlette = release("starlette")
    if starlette < (1, 7):
        config.addinivalue_line(
            "filterwarnings", "ignore:The anyio.abc.BlockingPortal alias is deprecated:DeprecationWarning"
        )
    if starlette < (0, 47):
        config.addinivalue_line(
            "filterwarnings",
            "ignore:Exception ignored in. <function MemoryObject(Send|Receive)Stream.__del__"
            ":pytest.PytestUnraisableExceptionWarning",
        )
