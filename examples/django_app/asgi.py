"""ASGI entry point of the Django example."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from backendkit.observability import observe, observers
from examples import _tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
if tracing := _tracing.observers("tasks-django"):  # spans and metrics, when OTEL_* asks for them
    observe(*observers(), *tracing)  # beside what is installed (the settings may have installed metrics)
application = get_asgi_application()
