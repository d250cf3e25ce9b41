"""Idempotency keys for Flask: the ``@idempotent`` decorator per view, or every covered request app-wide.

Example:
    >>> from flask import Flask
    >>> from backendkit.flask import BackendKit
    >>> from backendkit.flask.idempotency import idempotent
    >>> from backendkit.idempotency import Idempotency, MemoryStore
    >>> app = Flask(__name__)
    >>> extension = BackendKit(app)
    >>> keys = Idempotency(MemoryStore())
    >>> @app.post("/payments")
    ... @idempotent(keys)
    ... def pay():
    ...     return {"id": 1}, 201

Put ``@idempotent`` under the authentication decorator (``@require``): it starts the
key once the user is known, so each user's keys are their own (above it, it is refused).
An exception the view raises that the app's handlers render (an ``APIError``,
``abort(404)``) is rendered first, and kept like any other answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from werkzeug.datastructures import FileStorage

from backendkit._deprecation import renamed
from backendkit.auth import AUTHENTICATES
from backendkit.context import client_ip_or, get_request_facts
from backendkit.errors import ConfigurationError
from backendkit.idempotency import Attempt, Idempotency, KeyedRequest, Replay, form_body

F = TypeVar("F", bound=Callable[..., Any])
_ATTEMPT = "backendkit_idempotency_attempt"
_STARTED = "backendkit_idempotency_started"  # one start per request (hooks and a decorator alike)


def _body() -> bytes:
    """What the fingerprint reads of the body: its bytes, or its parsed form when a hook consumed them.

    A form parsed before (by a CSRF hook, or a multipart upload) leaves ``get_data()`` empty: the
    fields and the files' contents stand in for it, so a different form is still a different request.
    """
    data = request.get_data(cache=True, parse_form_data=False)
    if data or not (request.form or request.files):
        return data
    files = [(name, upload.filename or "", _chunks(upload)) for name, upload in request.files.items(multi=True)]
    return form_body(request.form.items(multi=True), files)


def _chunks(upload: FileStorage) -> Iterator[bytes]:
    while chunk := upload.stream.read(65536):
        yield chunk
    upload.stream.seek(0)  # (for the view, which reads it next)


def _keyed_for(idempotency: Idempotency, keys: list[str]) -> KeyedRequest:
    facts = get_request_facts()
    return KeyedRequest(
        method=request.method,
        path=request.path,
        query=request.query_string.decode("latin-1"),
        content_type=request.headers.get("Content-Type"),
        body=_body() if keys else b"",  # (no key: the body is left to the view, unread)
        key_values=keys,
        user_id=facts.resolved_user_id() if facts is not None else None,
        api_key=request.headers.get(idempotency.api_key_header) if idempotency.api_key_header else None,
        client=client_ip_or(request.remote_addr),
    )


def _start(idempotency: Idempotency, required: bool | None = None) -> Attempt | Replay | None:
    """Start the request's key, once per request, for a method ``idempotency`` covers."""
    if not idempotency.applies(request.method) or g.get(_STARTED):
        return None
    setattr(g, _STARTED, True)
    return idempotency.start(_keyed_for(idempotency, request.headers.getlist("Idempotency-Key")), required=required)


def _replayed(replay: Replay) -> Response:
    return Response(replay.response.body, status=replay.response.status, headers=list(replay.headers))


def _finish(idempotency: Idempotency, attempt: Attempt, response: Response) -> None:
    try:
        body = None if response.is_streamed else response.get_data()
        idempotency.finish(attempt, response.status_code, list(response.headers.items()), body)
    except Exception:
        idempotency.abandon(attempt)
        raise


def idempotent(idempotency: Idempotency, *, required: bool | None = None) -> Callable[[F], F]:
    """Make a view idempotent: a retry with the same key gets the first response, and the view runs once.

    ``required`` overrides the ``Idempotency``'s own for this view. The store must be sync.
    Put it under ``@require``: above, it would start the key before the user is known.
    """
    idempotency.require_sync()

    def decorate(view: F) -> F:
        if getattr(view, AUTHENTICATES, False):
            raise ConfigurationError(f"{view.__name__}: put @idempotent under @require, so the key is the user's")

        @functools.wraps(view)
        def keyed_view(*args: Any, **kwargs: Any) -> Any:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            outcome = _start(idempotency, required)
            if isinstance(outcome, Replay):
                return _replayed(outcome)
            if outcome is None:
                return app.ensure_sync(view)(*args, **kwargs)
            try:
                try:
                    response = app.make_response(app.ensure_sync(view)(*args, **kwargs))
                except Exception as exc:  # rendered now (an APIError, abort(404)...): the answer kept is the one sent
                    response = app.make_response(app.handle_user_exception(exc))
            except BaseException:
                idempotency.abandon(outcome)  # (nothing rendered it: a bug, for Flask's own 500)
                raise
            _finish(idempotency, outcome, response)
            return response

        return keyed_view  # type: ignore[return-value]

    return decorate


def idempotent_every_request(app: Flask, idempotency: Idempotency) -> None:
    """Cover every request whose method ``idempotency`` covers, before any view runs.

    A key is scoped by the user known before the view (none, unless something in a
    ``before_request`` hook authenticated), else the API key, else the client.
    """
    idempotency.require_sync()

    def start() -> Response | None:
        outcome = _start(idempotency)
        if isinstance(outcome, Replay):
            return _replayed(outcome)
        if outcome is not None:
            setattr(g, _ATTEMPT, outcome)
        return None

    def finish(response: Response) -> Response:
        attempt: Attempt | None = g.pop(_ATTEMPT, None)
        if attempt is not None:
            _finish(idempotency, attempt, response)
        return response

    def abandon(_: BaseException | None) -> None:
        attempt: Attempt | None = g.pop(_ATTEMPT, None)
        if attempt is not None:  # the request ended without a response (the after_request hooks did not run)
            idempotency.abandon(attempt)

    app.before_request(start)
    app.after_request(finish)
    app.teardown_request(abandon)


__all__ = ["idempotent", "idempotent_every_request"]
__getattr__ = renamed(__name__, {"apply_to_every_request": ("idempotent_every_request", idempotent_every_request)})
