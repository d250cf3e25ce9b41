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
key once the user is known, so each user's keys are their own. An ``APIError`` the
view raises is rendered by the app's handlers first, and kept like any other answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request

from backendkit.context import get_request_facts
from backendkit.errors import APIError
from backendkit.idempotency import Attempt, Idempotency, KeyedRequest, Replay

F = TypeVar("F", bound=Callable[..., Any])
_ATTEMPT = "backendkit_idempotency_attempt"


def _keyed_for(idempotency: Idempotency) -> KeyedRequest:
    facts = get_request_facts()
    return KeyedRequest(
        method=request.method,
        path=request.path,
        query=request.query_string.decode("latin-1"),
        content_type=request.headers.get("Content-Type"),
        body=request.get_data(cache=True),
        key_values=request.headers.getlist("Idempotency-Key"),
        user_id=facts.resolved_user_id() if facts is not None else None,
        api_key=request.headers.get(idempotency.api_key_header) if idempotency.api_key_header else None,
        client=(facts.client_ip if facts is not None else None) or request.remote_addr,
    )


def _replayed(replay: Replay) -> Response:
    return Response(replay.response.body, status=replay.response.status, headers=list(replay.headers))


def _finish(idempotency: Idempotency, attempt: Attempt, response: Response) -> None:
    body = None if response.is_streamed else response.get_data()
    idempotency.finish(attempt, response.status_code, list(response.headers.items()), body)


def idempotent(idempotency: Idempotency, *, required: bool | None = None) -> Callable[[F], F]:
    """Make a view idempotent: a retry with the same key gets the first response, and the view runs once.

    ``required`` overrides the ``Idempotency``'s own for this view. The store must be sync.
    """
    idempotency.require_sync()

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def keyed_view(*args: Any, **kwargs: Any) -> Any:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            outcome = idempotency.start(_keyed_for(idempotency), required=required)
            if isinstance(outcome, Replay):
                return _replayed(outcome)
            if outcome is None:
                return app.ensure_sync(view)(*args, **kwargs)
            try:
                response = app.make_response(app.ensure_sync(view)(*args, **kwargs))
            except APIError as exc:  # rendered now, so the answer kept is the one the client gets
                response = app.make_response(app.handle_user_exception(exc))
            except BaseException:
                idempotency.abandon(outcome)
                raise
            _finish(idempotency, outcome, response)
            return response

        return keyed_view  # type: ignore[return-value]

    return decorate


def apply_to_every_request(app: Flask, idempotency: Idempotency) -> None:
    """Cover every request whose method ``idempotency`` covers, before any view runs.

    A key is scoped by the user known before the view (none, unless something in a
    ``before_request`` hook authenticated), else the API key, else the client.
    """
    idempotency.require_sync()

    def start() -> Response | None:
        if not idempotency.applies(request.method):
            return None
        outcome = idempotency.start(_keyed_for(idempotency))
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


__all__ = ["apply_to_every_request", "idempotent"]
