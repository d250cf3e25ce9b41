"""The Django example's settings, with a URLconf that adds the test-only routes."""

from __future__ import annotations

from examples._sessions import parse_users
from examples.django_app.settings import *  # noqa: F403
from tests.conformance.targets import USERS

ROOT_URLCONF = "tests.conformance.django_urls"
EXAMPLE_USERS = parse_users(USERS)  # what BACKENDKIT_EXAMPLE_USERS=USERS gives the example
