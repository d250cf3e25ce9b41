"""The extension's part in CORS and security headers: the exchange begun, answered or added to responses."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Request, Response, current_app, g
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import get_input_stream

from backendkit._headers import HeaderTarget
from backendkit._runtime import AdapterState
from backendkit._wsgi import read_at_most
from backendkit.errors import APIError
from backendkit.security._exchange import OVERRIDES, Exchange

EXCHANGE = "backendkit.exchange"
"""The key of the request's :class:`~backendkit.security.Exchange` in its WSGI environ."""
ANSWER = "backendkit.answer"
"""The key of the response the first hook answered with (a preflight's, a report's)."""


def begin(state: AdapterState, req: Request, client: str | None) -> None:
    """Begin the request's exchange; a preflight or a CSP report is answered here, before anything else runs."""
    environ = req.environ
    exchange = state.begin_exchange(
        environ,
        method=req.method,
        path=req.script_root + req.path,
        scheme=environ.get("wsgi.url_scheme", "http"),
    )
    if exchange is None:
        return
    environ[EXCHANGE] = exchange
    g.csp_nonce = exchange.nonce
    if exchange.preflight is not None or exchange.report:
        _answer(state, exchange, req, client)


def _answer(state: AdapterState, exchange: Exchange, req: Request, client: str | None) -> NoReturn:
    """Stop the request with the preflight's or the report's answer.

    A URL value preprocessor cannot return a response, and a ``before_request``
    hook would come after those of the rate limits added later. So the answer is
    raised as an ``HTTPException`` without a code, which Flask sends without
    asking any error handler; its copy is swapped back for this response in the
    extension's last ``after_request`` hook (the copy gains a ``Content-Type``).
    """
    assert state.security is not None
    if exchange.preflight is not None:
        answer = _error(state, exchange.refusal(), req) if not exchange.preflight.allowed else _empty(204)
    else:
        assert state.security.headers is not None
        limit = state.security.headers.report_max_bytes
        posted = req.method == "POST"  # (anything else is a 405: no body to read)
        body = read_at_most(get_input_stream(req.environ, max_content_length=None).read, limit + 1) if posted else b""
        try:
            answer = _empty(state.security.take_report(body, req.environ.get("CONTENT_TYPE"), client, req.method))
        except APIError as error:
            answer = _error(state, error, req)
    req.environ[ANSWER] = answer
    raise HTTPException(response=answer)


def _empty(status: int) -> Response:
    response: Response = current_app.response_class(status=status)
    del response.headers["Content-Type"]
    return response


def _error(state: AdapterState, error: APIError, req: Request) -> Response:
    rendered = state.render(error, path=req.path)
    response: Response = current_app.response_class(
        rendered.body, status=rendered.status, headers=list(rendered.headers)
    )
    return response


def csp_nonce() -> dict[str, Any]:
    """The templates' ``csp_nonce`` (a context processor the extension installs)."""
    nonce = g.get("csp_nonce")
    return {"csp_nonce": nonce} if nonce is not None else {}


def decorate(target: HeaderTarget, environ: dict[str, Any]) -> None:
    """Add the request's CORS and security headers (and the view's changes) to a response's."""
    exchange: Exchange | None = environ.get(EXCHANGE)
    if exchange is not None:
        exchange.decorate(target, environ.get(OVERRIDES))
