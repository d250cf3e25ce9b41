"""The extension's part in HTTP semantics (``backendkit.http``): each request's exchange begun, each response finished.

The decisions are :class:`~backendkit.http.HttpExchange`'s; this module reads a Flask
request's headers for it and writes what it decided back onto Flask's response.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, current_app, g, request
from werkzeug.datastructures import Headers

from backendkit._runtime import environ_key
from backendkit.errors import APIError
from backendkit.flask._state import refuse, report_missing
from backendkit.http import (
    NOT_MODIFIED_DROPS,
    SAFE_READS,
    Deprecation,
    HttpExchange,
    HttpSemantics,
    api_version_var,
    carried_headers,
)

SEMANTICS = "backendkit.http"
"""The key of the app's :class:`~backendkit.http.HttpSemantics` in ``app.extensions``."""
EXCHANGE = "backendkit.http.exchange"
"""The key of the request's :class:`~backendkit.http.HttpExchange` in its WSGI environ."""
MARK = "backendkit_deprecation"
"""The attribute ``@deprecated`` leaves on a view (``functools.wraps`` carries it through other decorators)."""
_VERSION_BINDING = "backendkit.http.version"
_DEPRECATED = "backendkit.http.deprecated"
_marked = False  # whether any view has been marked: until one is, no request looks for a mark


def mark(view: Any, deprecation: Deprecation) -> None:
    """Mark ``view`` deprecated (``@deprecated``)."""
    global _marked
    setattr(view, MARK, deprecation)
    _marked = True


@functools.cache
def _key(name: str) -> str:
    return environ_key(name)


def install(app: Flask, semantics: HttpSemantics) -> None:
    """Keep the app's semantics where the hooks and the public helpers find them."""
    app.extensions[SEMANTICS] = semantics


def begin(semantics: HttpSemantics, req: Request, endpoint: str | None) -> None:
    """Begin the request's exchange (400, 404, 410 raised here), and apply its view's own deprecation.

    Called in the extension's first hook: before rate limits, authentication and
    idempotency keys, so a retired route answers 410 before anything else it would do.
    """
    environ = req.environ
    if semantics.active:
        get = environ.get
        exchange = semantics.begin(req.method, req.path, lambda name: get(_key(name)), now=time.time())
        environ[EXCHANGE] = exchange
        g.api_version = exchange.version  # (None without VERSIONING: as request.state's and Django's request's)
        if semantics.versioning is not None:
            environ[_VERSION_BINDING] = api_version_var.set(exchange.version)
    if _marked and endpoint is not None:
        deprecation = route_deprecation(current_app.view_functions.get(endpoint))
        if deprecation is not None:
            apply_deprecation(deprecation)


def route_deprecation(view: Any) -> Deprecation | None:
    """The deprecation ``@deprecated`` marked ``view`` with, if any."""
    found = getattr(view, MARK, None)
    return found if isinstance(found, Deprecation) else None


def apply_deprecation(deprecation: Deprecation) -> None:
    """The current request answers with ``deprecation``'s headers; past a retiring sunset, 410 ``GONE``.

    Works without the two settings too: a route marked deprecated says so in any app.
    """
    environ = request.environ
    exchange: HttpExchange | None = environ.get(EXCHANGE)
    if exchange is None:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        semantics: HttpSemantics | None = app.extensions.get(SEMANTICS)
        if semantics is None:
            report_missing(app, "@deprecated needs the BackendKit extension on the app to send its headers")
            semantics = HttpSemantics()
        exchange = HttpExchange(semantics, request.method)
        environ[EXCHANGE] = exchange
    if exchange.deprecation is deprecation:  # (the first hook applied it already)
        return
    try:
        exchange.deprecate(deprecation, now=time.time())
    except APIError as retired:
        refuse(retired)


def finish(semantics: HttpSemantics, response: Response, render: Callable[[Exception], Response]) -> Response:
    """The response to send for ``response``: its ETag, a 304 in its place, the deprecation headers, ``Vary``.

    ``render`` turns an API error into the extension's response (an ``If-Match`` a GET's
    answer fails: 412).
    """
    environ = request.environ
    exchange: HttpExchange | None = environ.get(EXCHANGE)
    if exchange is None:  # (a retired version's 410, raised by begin, carries its headers already)
        if "Deprecation" in response.headers:
            environ[_DEPRECATED] = True
        return response
    now = time.time()
    status, before, body = _parts(exchange, response)
    done = exchange.finish(status, before, body, now=now)
    if done.error is not None:  # a GET whose If-Match fails against what it produced: 412
        original = response
        response = render(done.error)
        response.headers.extend(carried_headers(before, list(response.headers.items())))  # (cookies, hooks')
        original.close()  # (its file or stream: nobody else will)
        status, before, body = _parts(exchange, response)
        done = exchange.finish(status, before, body, now=now)
    if done.status == 304:
        _not_modified(response, before, done.headers)
    else:
        _replace_headers(response.headers, before, done.headers)
    if "Deprecation" in response.headers:  # (the access line's and the metric's rule on every adapter)
        environ[_DEPRECATED] = True
    return response


def _parts(exchange: HttpExchange, response: Response) -> tuple[int, list[tuple[str, str]], bytes | None]:
    status = response.status_code
    weighed = exchange.semantics.conditional is not None and status == 200 and exchange.method in SAFE_READS
    # A HEAD's response still holds the body the GET would send (werkzeug drops it on the way out).
    body = response.get_data() if weighed and not response.is_streamed else None
    return status, list(response.headers.items()), body


def _replace_headers(headers: Headers, before: list[tuple[str, str]], pairs: list[tuple[str, str]]) -> None:
    """``headers`` (which were ``before``) made ``pairs``: only the new fields added when nothing else changed.

    The common change is an ETag added at the end; werkzeug checks every value it is
    given, so clearing and adding them all again cost a tagged answer twice as much.
    """
    kept = len(before)
    if pairs[:kept] == before:
        for name, value in pairs[kept:]:
            headers.add(name, value)
    else:
        headers.clear()
        headers.extend(pairs)


def _not_modified(response: Response, before: list[tuple[str, str]], pairs: list[tuple[str, str]]) -> None:
    """``response`` made the 304 standing for it: no body, ``pairs`` as its headers."""
    response.status_code = 304
    held = response.response
    response.response = []
    if hasattr(held, "close"):  # a file or a stream: closed when the 304 is (werkzeug closes what it sends)
        response.call_on_close(held.close)
    _replace_headers(response.headers, before, pairs)
    response.__class__ = _keeping_last_modified(type(response))


def not_modified_response(headers: dict[str, str]) -> Response:
    """The 304 for a :class:`~backendkit.http.NotModified` a view raised, with its validators."""
    cls = current_app.response_class
    response = _keeping_last_modified(cls)(status=304, headers=headers)
    del response.headers["Content-Type"]  # (the default type Flask gives any response)
    return response


_KEEPING: dict[type[Response], type[Response]] = {}


def _keeping_last_modified(base: type[Response]) -> type[Response]:
    """``base``, but a 304 keeps what the core keeps (``Last-Modified``, ``Allow``), as on every other framework.

    Werkzeug removes every entity header but ``Expires`` and ``Content-Location`` from a
    304 (RFC 2616's list), ``Last-Modified`` and ``Allow`` among them; RFC 9110 §15.4.5
    drops only representation metadata (:data:`~backendkit.http.NOT_MODIFIED_DROPS`), and
    the same 304 from FastAPI or Django keeps them (a client without an ETag needs
    ``Last-Modified`` to revalidate next time). A subclass of the app's own response
    class, made once per class: werkzeug decides in ``get_wsgi_headers``, on the way out.
    """

    made = _KEEPING.get(base)
    if made is not None:
        return made

    class KeepingLastModified(base):  # type: ignore[valid-type,misc]
        def get_wsgi_headers(self, environ: Any) -> Headers:
            headers: Headers = super().get_wsgi_headers(environ)
            if self.status_code == 304:
                sent = {name.lower() for name in headers.keys()}  # noqa: SIM118  (Headers iterates over pairs)
                for name, value in self.headers.items():
                    if name.lower() not in sent and name.lower() not in NOT_MODIFIED_DROPS:
                        headers.add(name, value)
            return headers

    KeepingLastModified.__name__ = KeepingLastModified.__qualname__ = base.__name__
    _KEEPING[base] = KeepingLastModified
    return KeepingLastModified


def end(environ: dict[str, Any]) -> bool:
    """Unbind the request's API version; whether its answer carried a ``Deprecation`` header."""
    token = environ.pop(_VERSION_BINDING, None)
    if token is not None:
        api_version_var.reset(token)
    return bool(environ.pop(_DEPRECATED, False))
