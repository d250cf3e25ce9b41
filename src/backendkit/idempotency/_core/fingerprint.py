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
import struct
from collections.abc import Iterable
from functools import lru_cache

_SIZE = struct.Struct(">Q").pack  # a field's length, as _field frames it
_SPACES = re.compile(r"\s*([;=,])\s*")
_PLAIN = frozenset(("application/json", "application/x-www-form-urlencoded", "text/plain", "application/octet-stream"))


def media_type(content_type: str | None) -> str:
    """``content_type`` in the one form that equal media types share."""
    if not content_type:
        return ""
    if content_type in _PLAIN:  # (most requests: no parameter, no space, lower case: already in that form)
        return content_type
    return _SPACES.sub(r"\1", content_type.strip()).lower()


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def _framed(text: str) -> bytes:
    data = text.encode("utf-8", "surrogateescape")
    return _SIZE(len(data)) + data


@lru_cache(maxsize=1024)
def _route_part(method: str, path: str) -> bytes:
    """The method and the path, framed once per route: the fingerprint and the storage key hash them so."""
    return _framed(method.upper()) + _framed(path)


@lru_cache(maxsize=64)
def _media_part(content_type: str | None) -> bytes:
    return _framed(media_type(content_type))


def fingerprint(method: str, path: str, query: str, content_type: str | None, body: bytes) -> str:
    """64 hex digits that change with any change of the method, path, query, media type or body."""
    # The fields as _field frames them, in one input: the digest of updating with each in turn. (The
    # query is framed per request: it varies, and a cache would keep whatever clients put in it.)
    parts = (_route_part(method, path), _framed(query), _media_part(content_type), _SIZE(len(body)), body)
    return hashlib.sha256(b"".join(parts)).hexdigest()


def form_body(fields: Iterable[tuple[str, str]], files: Iterable[tuple[str, str, Iterable[bytes]]]) -> bytes:
    """What stands for a body the framework has read as a form (a multipart upload, a form a CSRF
    check parsed first): its fields, and each file's field name, file name and contents, in one
    order whatever the order sent. The same form gives the same bytes on Flask and on Django, and
    an upload is hashed as it streams, never held whole.
    """
    digest = hashlib.sha256(b"form")
    for name, value in sorted(fields):
        digest.update(
            _field(name.encode("utf-8", "surrogateescape")) + _field(value.encode("utf-8", "surrogateescape"))
        )
    for name, filename, chunks in sorted(files, key=lambda file: (file[0], file[1])):
        digest.update(
            b"file"
            + _field(name.encode("utf-8", "surrogateescape"))
            + _field(filename.encode("utf-8", "surrogateescape"))
        )
        size = 0
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
        digest.update(size.to_bytes(8, "big"))
    return b"form:" + digest.digest()


def storage_key(prefix: str, scope: str, method: str, path: str, key: str) -> str:
    """The store's key for ``key`` sent by ``scope`` to ``method path``."""
    digest = hashlib.sha256(b"".join((_framed(scope), _route_part(method, path), _framed(key))))
    return f"{prefix}{{{digest.hexdigest()[:32]}}}"


__all__ = ["fingerprint", "form_body", "media_type", "storage_key"]
