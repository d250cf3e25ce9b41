"""Pure ASGI middleware (no framework imports): request ids and error envelopes.

Example:
    >>> from backendkit.asgi import ErrorMiddleware
    >>> async def app(scope, receive, send):
    ...     raise RuntimeError("boom")
    >>> app = ErrorMiddleware(app, error_format="problem")
"""

from __future__ import annotations

from backendkit.asgi._body import BodyLimit
from backendkit.asgi._middleware import ErrorBoundary, ErrorMiddleware, RequestContextMiddleware
from backendkit.asgi._respond import send_error_response
from backendkit.asgi._types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ASGIApp",
    "BodyLimit",
    "ErrorBoundary",
    "ErrorMiddleware",
    "Message",
    "Receive",
    "RequestContextMiddleware",
    "Scope",
    "Send",
    "send_error_response",
]
