"""The JSON body helper for Django views."""

from __future__ import annotations

from django.http import HttpRequest

from backendkit.validation import M, parse_model


def parse_json(request: HttpRequest, model: type[M]) -> M:
    """Parse and validate ``request.body`` with a pydantic model.

    Raises ``MalformedJSON`` (400) or ``ValidationFailed`` (422), which the
    middleware renders; the content type is not checked, as with FastAPI.
    """
    return parse_model(model, request.body)
