"""Renderers: an :class:`APIError` in, a finished HTTP response out.

A renderer is any callable ``(error, context) -> RenderedBody``; the core encodes
the body and assembles the headers, so every framework sends the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from backendkit.errors._exceptions import APIError, FieldError, status_title


@dataclass(frozen=True)
class RenderContext:
    """What a renderer knows about the request that failed.

    Attributes:
        request_id: The request's id, or ``None`` outside a request.
        instance: The request path, used as the RFC 9457 ``instance``.
    """

    request_id: str | None = None
    instance: str | None = None


class RenderedBody(NamedTuple):
    """A renderer's output: the media type and a JSON-serialisable payload."""

    media_type: str
    payload: Any


Renderer = Callable[[APIError, RenderContext], RenderedBody]
"""The type of a renderer: ``(error, context) -> RenderedBody``."""


@dataclass(frozen=True)
class ErrorResponse:
    """A complete error response, ready for any framework to send.

    Attributes:
        status: The HTTP status code.
        headers: Header pairs, ``Content-Type`` first.
        body: The encoded body.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def media_type(self) -> str:
        """The value of the ``Content-Type`` header."""
        return self.headers[0][1]


def render_envelope(error: APIError, context: RenderContext) -> RenderedBody:
    """The default body: ``{"error": {code, message, details?, request_id}}``.

    ``details`` is left out when empty; ``request_id`` when unknown.
    """
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details not in (None, [], {}, ()):
        body["details"] = error.details
    if context.request_id is not None:
        body["request_id"] = context.request_id
    return RenderedBody("application/json", {"error": body})


def render_problem(error: APIError, context: RenderContext) -> RenderedBody:
    """RFC 9457 ``application/problem+json``.

    Standard members ``type``, ``title``, ``status``, ``detail``, ``instance``, and
    the extensions ``code``, ``request_id``, ``errors`` (field errors, each with an
    RFC 9457-style ``pointer`` fragment and ``detail``) and ``details`` (any other
    details).
    """
    body: dict[str, Any] = {
        "type": error.type_uri,
        "title": error.title or status_title(error.status),
        "status": error.status,
        "detail": error.message,
    }
    if context.instance is not None:
        body["instance"] = context.instance
    body["code"] = error.code
    if context.request_id is not None:
        body["request_id"] = context.request_id
    if error.field_errors:
        body["errors"] = [_problem_field(fe) for fe in error.field_errors]
    elif error.details not in (None, [], {}, ()):
        body["details"] = error.details
    return RenderedBody("application/problem+json", body)


def _problem_field(error: FieldError) -> dict[str, str]:
    pointer = error.pointer
    out = {"detail": error.message}
    if pointer is None:
        out["location"] = error.location
    else:
        out["pointer"] = "#" + pointer
    out["field"] = error.field
    out["code"] = error.code
    return out


RENDERERS: dict[str, Renderer] = {"envelope": render_envelope, "problem": render_problem}
"""The built-in renderers by setting name."""


def _safe_header(name: str, value: str) -> bool:
    # Only visible ASCII (plus space and tab) is sent: CR or LF could split the
    # response, and anything else may not encode on every server. Drop, never crash.
    return bool(name) and all(c == "\t" or " " <= c <= "~" for c in name + value)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=str)


def encode(payload: Any) -> bytes:
    """Encode a payload the same way on every framework (compact, UTF-8).

    Text that UTF-8 cannot carry (a lone surrogate) is written as ``\\u`` escapes
    instead, so encoding never fails.
    """
    text = _ENCODER.encode(payload)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _ASCII_ENCODER.encode(payload).encode("ascii")


def build_response(error: APIError, renderer: Renderer, context: RenderContext) -> ErrorResponse:
    """Render ``error`` and assemble status, headers and body."""
    media_type, payload = renderer(error, context)
    headers = [("Content-Type", media_type)]
    headers.extend((k, v) for k, v in error.headers.items() if k.lower() != "content-type" and _safe_header(k, v))
    return ErrorResponse(status=error.status, headers=tuple(headers), body=encode(payload))
