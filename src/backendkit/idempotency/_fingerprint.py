"""What identifies a request for its key (the fingerprint) and where its record lives (the storage key). Pure.

The fingerprint is the SHA-256 of the method, the path, the raw query, the media
type and the body, each length-prefixed so that no two different requests can
spell the same input. The content type is compared as a media type: lower-cased,
without spaces around its parameters (``application/json; charset=utf-8`` and
``application/JSON;charset=utf-8`` are the same), but a different parameter value
is a different request.

The storage key is ``prefix`` and ``{`` 32 hex digits ``}``: the SHA-256 of the
principal's scope, the method, the path and the client's key, so one principal's key
can never find another's record, and a Redis Cluster client sends each key to one slot.
The path, not the route's template: an app-wide middleware runs before any routing, and
every framework must scope a key the same way (``PATCH /tasks/1`` and ``PATCH /tasks/2``
with one key are two keys everywhere).
"""

from __future__ import annotations

import hashlib
import re

_SPACES = re.compile(r"\s*([;=,])\s*")


def media_type(content_type: str | None) -> str:
    """``content_type`` in the one form that equal media types share."""
    if not content_type:
        return ""
    return _SPACES.sub(r"\1", content_type.strip()).lower()


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def fingerprint(method: str, path: str, query: str, content_type: str | None, body: bytes) -> str:
    """64 hex digits that change with any change of the method, path, query, media type or body."""
    digest = hashlib.sha256()
    for text in (method.upper(), path, query, media_type(content_type)):
        digest.update(_field(text.encode("utf-8", "surrogateescape")))
    digest.update(_field(body))
    return digest.hexdigest()


def storage_key(prefix: str, scope: str, method: str, path: str, key: str) -> str:
    """The store's key for ``key`` sent by ``scope`` to ``method path``."""
    digest = hashlib.sha256()
    for text in (scope, method.upper(), path, key):
        digest.update(_field(text.encode("utf-8", "surrogateescape")))
    return f"{prefix}{{{digest.hexdigest()[:32]}}}"


__all__ = ["fingerprint", "media_type", "storage_key"]
