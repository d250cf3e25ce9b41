"""Set for the whole run, before anything imports Django (the docstring examples included)."""

from __future__ import annotations

import os

# One Django configuration for the whole process: the example's settings with a
# URLconf that adds the test-only routes.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_settings")

pytest_plugins = ["tests.support.logs"]  # the log_lines fixture, for every test
