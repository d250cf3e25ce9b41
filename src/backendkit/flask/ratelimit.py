"""Rate limits for Flask: the ``@limit`` decorator, and limits for every request through the extension.

Example:
    >>> from flask import Flask
    >>> from backendkit.flask import BackendKit
    >>> from backendkit.flask.ratelimit import limit
    >>> from backendkit.ratelimit import Limit
    >>> app = Flask(__name__)
    >>> extension = BackendKit(app, rate_limits=Limit("1000/hour"))
    >>> @app.get("/search")
    ... @limit("5/minute")
    ... def search():
    ...     return {"ok": True}
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from inspect import iscoroutinefunction
from typing import Any, TypeVar

from flask import Flask, Response, after_this_request, current_app, request

from backendkit._deprecation import renamed
from backendkit._headers import channel
from backendkit.errors import APIError
from backendkit.flask._state import refuse
from backendkit.ratelimit import Decision, Limit, Policy, RequestInfo, limit_list

F = TypeVar("F", bound=Callable[..., Any])


def _check(limit: Limit, *, per_route: bool) -> Decision | None:
    req = request._get_current_object()  # type: ignore[attr-defined]
    queued = channel(req.environ)  # opened by the extension's first hook
    verdict = limit.check(RequestInfo.from_environ(req.environ, path=req.path, native=req), per_route=per_route)
    if verdict is None:
        return None
    if queued is not None:
        return verdict.apply(queued)  # the extension renders a refusal and sends the queued headers
    fields: list[tuple[str, str]] = []  # without the extension: sent with the response, refusal or not
    after_this_request(lambda response: _with_fields(response, fields))
    try:
        return verdict.apply(fields)
    except APIError as refusal:
        refuse(refusal)


def _with_fields(response: Response, fields: list[tuple[str, str]]) -> Response:
    for name, value in fields:
        response.headers.add(name, value)
    return response


def limit(policies: str | Policy | Sequence[Policy] | Limit, **options: Any) -> Callable[[F], F]:
    """Limit a view: ``@limit("5/minute")``, or ``@limit(Limit(...))`` to share one configured limit.

    ``options`` are those of :class:`~backendkit.ratelimit.Limit`. The bucket
    is per route unless the limit names a ``scope``. A refusal raises the 429
    (``RATE_LIMITED``) for the extension to render; an allowed request's
    response carries the ``RateLimit`` headers. Stores must be sync
    (``MemoryStore``, ``RedisStore``).
    """
    rule = policies if isinstance(policies, Limit) else Limit(policies, **options)
    rule.require_sync_store()  # a configuration error at import, not on the first request

    def decorate(view: F) -> F:
        is_async = iscoroutinefunction(view)

        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            _check(rule, per_route=True)
            if is_async or type(app).ensure_sync is not Flask.ensure_sync:
                return app.ensure_sync(view)(*args, **kwargs)
            return view(*args, **kwargs)  # what Flask's own ensure_sync does with a plain function

        return limited  # type: ignore[return-value]

    return decorate


def limit_every_request(app: Flask, limits: Limit | Sequence[Limit]) -> None:
    """Check ``limits`` before every request of ``app`` (the extension's ``rate_limits``)."""
    rules = limit_list(limits, setting="BACKENDKIT_RATE_LIMITS (or rate_limits=)")
    for rule in rules:
        rule.require_sync_store()

    def check_limits() -> None:  # a hook of ``app``: it runs only inside its requests
        for rule in rules:
            _check(rule, per_route=False)

    app.before_request_funcs.setdefault(None, []).insert(0, check_limits)


__all__ = ["limit", "limit_every_request"]
__getattr__ = renamed(__name__, {"apply_to_every_request": ("limit_every_request", limit_every_request)})
