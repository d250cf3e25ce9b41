"""Django's exceptions as API errors.

Django never shows the text of these exceptions to clients (its 404 page does
not print it, and a routing 404 carries the URL patterns tried), so neither do we.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest as DjangoBadRequest
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.http.multipartparser import MultiPartParserError

from backendkit.errors import BadRequest, ContentTooLarge, ExceptionRegistry, Forbidden, NotFound


def translations() -> ExceptionRegistry:
    """Django's own exceptions as API errors (used after the app's registry)."""
    registry = ExceptionRegistry()
    registry.register(Http404, lambda exc: NotFound())
    registry.register(PermissionDenied, lambda exc: Forbidden())
    registry.register(DjangoBadRequest, lambda exc: BadRequest())
    registry.register(SuspiciousOperation, lambda exc: BadRequest())
    # DATA_UPLOAD_MAX_MEMORY_SIZE exceeded: a SuspiciousOperation to Django, a 413 on the wire.
    registry.register(RequestDataTooBig, lambda exc: ContentTooLarge())
    registry.register(MultiPartParserError, lambda exc: BadRequest())
    return registry
