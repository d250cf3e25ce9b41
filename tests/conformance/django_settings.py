"""The Django example's settings, with a URLconf that adds the test-only routes and one allowed origin."""

from __future__ import annotations

from backendkit.security import CORS
from examples.django_app.settings import *  # noqa: F403
from examples.django_app.settings import BACKENDKIT
from tests.conformance.targets import ALLOWED_ORIGIN

# What BACKENDKIT_EXAMPLE_CORS_ORIGINS gives the example, named here: the example reads the variable once,
# whenever a session first loads the settings.
BACKENDKIT = {**BACKENDKIT, "CORS": CORS(allow_origins=[ALLOWED_ORIGIN], allow_credentials=True)}

ROOT_URLCONF = "tests.conformance.django_urls"
