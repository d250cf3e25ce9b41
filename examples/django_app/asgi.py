"""ASGI entry point of the Django example."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from backendkit.observability import observe
from examples import _tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
if observers := _tracing.observers("tasks-django"):  # spans and metrics, when OTEL_* asks for them
    observe(*observers)
application = get_asgi_application()
