"""The JSON body helper for Django views."""

from __future__ import annotations

from django.http import HttpRequest

from backendkit.validation import M, parse_model


def parse_json(request: HttpRequest, model: type[M]) -> M:
    """Parse and validate ``request.body`` with a pydantic model.

    Answers as FastAPI does for a JSON body: ``UnsupportedMediaType`` (415) for a
    body not declared as JSON, ``MalformedJSON`` (400), ``ValidationFailed`` (422);
    the middleware renders them.
    """
    return parse_model(model, request.body, request.content_type)
