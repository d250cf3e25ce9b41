"""The Django example's settings, with a URLconf that adds the test-only routes."""

from __future__ import annotations

from examples.django_app.settings import *  # noqa: F403

ROOT_URLCONF = "tests.conformance.django_urls"
