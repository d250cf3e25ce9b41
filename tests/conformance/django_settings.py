"""The Django example's settings, with a URLconf that adds the test-only routes."""

from __future__ import annotations

import os

from examples._sessions import parse_users
from examples.django_app.settings import *  # noqa: F403
from tests.conformance.targets import KEYS_URL, USERS

# API keys on in the Django example, as in the others while the conformance targets are built (its views read
# the variable when first imported, after these settings).
os.environ.setdefault("BACKENDKIT_EXAMPLE_APIKEYS_URL", KEYS_URL)

ROOT_URLCONF = "tests.conformance.django_urls"
EXAMPLE_USERS = parse_users(USERS)  # what BACKENDKIT_EXAMPLE_USERS=USERS gives the example
