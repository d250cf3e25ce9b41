"""HTTP semantics on Flask: preconditions for a view, deprecated views and blueprints, the API version.

The extension does the rest from the ``BACKENDKIT_CONDITIONAL_REQUESTS`` and
``BACKENDKIT_VERSIONING`` config keys: every 200 GET/HEAD answer gets an ETag (the
view's own, or one from its bytes) and becomes a 304 when the client's copy is
current; a path naming a version not served is a 404 ``UNSUPPORTED_VERSION``; a
deprecated version's answers carry ``Deprecation``, ``Sunset`` and ``Link``. The
version a request asked for is ``flask.g.api_version``
(:func:`backendkit.http.get_api_version` anywhere).

Example:
    >>> from datetime import datetime, timezone
    >>> from flask import Flask, jsonify
    >>> from backendkit.flask import BackendKit
    >>> from backendkit.flask.http import deprecated, preconditions
    >>> from backendkit.http import Deprecation, ETag
    >>> app = Flask(__name__)
    >>> extension = BackendKit(app, conditional_requests=True)
    >>> @app.put("/notes/<int:note_id>")
    ... def replace_note(note_id: int):
    ...     guard = preconditions(required=True)  # 428 without If-Match, 400 for a malformed one
    ...     guard.check(etag=ETag.for_version(3))  # 412 unless If-Match names "v3"
    ...     return jsonify(id=note_id), 200, {"ETag": str(ETag.for_version(4))}
    >>> @app.get("/old")
    ... @deprecated(Deprecation(datetime(2026, 1, 1, tzinfo=timezone.utc)))
    ... def old():
    ...     return jsonify(ok=True)
    >>> app.test_client().get("/old").headers["Deprecation"]
    '@1767225600'
    >>> app.test_client().put("/notes/1", json={}, headers={"If-Match": '"v2"'}).status_code
    412
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, request

from backendkit.errors import APIError
from backendkit.flask._http import EXCHANGE, apply_deprecation, mark, route_deprecation
from backendkit.flask._state import refuse
from backendkit.http import Deprecation, HttpExchange, Preconditions, get_api_version, request_preconditions

F = TypeVar("F", bound=Callable[..., Any])


def preconditions(required: bool = False) -> Preconditions:
    """The current request's preconditions, for the view to check against the resource's current validators.

    Call it first in the view (before reading the body): with ``required``, an unsafe
    request that sent no ``If-Match``, ``If-None-Match: *`` or ``If-Unmodified-Since``
    is answered 428 ``PRECONDITION_REQUIRED`` at once; a malformed ``If-Match`` is a 400
    ``MALFORMED_PRECONDITION``. Then :meth:`~backendkit.http.Preconditions.check` with
    the current ETag raises the 412 (or the 304 of a GET), or
    :attr:`~backendkit.http.Preconditions.expected_version` gives the version to update
    atomically.
    """
    exchange: HttpExchange | None = request.environ.get(EXCHANGE)
    try:
        return request_preconditions(exchange, request.method, request.headers.get, required=required)
    except APIError as refused:
        refuse(refused)


def deprecated(deprecation: Deprecation) -> Callable[[F], F]:
    """Mark a view deprecated: its answers, errors included, carry ``Deprecation``, ``Sunset`` and ``Link``.

    With ``gone_after_sunset``, from the sunset on the view answers 410 ``GONE`` (with the
    same headers) before anything else runs: the extension reads the mark in its first
    hook, before rate limits, authentication and idempotency keys, wherever the
    decorator sits among the view's others (they keep the mark with ``functools.wraps``).
    A view's own deprecation wins over its blueprint's and its API version's.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def deprecated_view(*args: Any, **kwargs: Any) -> Any:
            apply_deprecation(deprecation)  # (the first hook did, unless a decorator above hid the mark)
            return current_app.ensure_sync(view)(*args, **kwargs)

        mark(deprecated_view, deprecation)
        return deprecated_view  # type: ignore[return-value]

    return decorate


def deprecate(blueprint: Blueprint, deprecation: Deprecation) -> Blueprint:
    """Mark every view of ``blueprint`` (and of the blueprints inside it) deprecated, as :func:`deprecated` does.

    Applied before the app's ``before_request`` hooks; a view's own ``@deprecated`` gives
    the headers, unless the blueprint is retired: then its 410, as a retired router or URL
    include answers on FastAPI and Django. Returns the blueprint.
    """

    def apply(endpoint: str | None, values: dict[str, Any] | None) -> None:
        own = None if endpoint is None else route_deprecation(current_app.view_functions.get(endpoint))
        if own is not None and not deprecation.is_gone(time.time()):
            return  # the view's own, applied by the extension's first hook
        apply_deprecation(deprecation)

    blueprint.url_value_preprocessor(apply)
    return blueprint


__all__ = ["deprecate", "deprecated", "get_api_version", "preconditions"]
