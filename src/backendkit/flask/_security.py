"""The extension's part in CORS and security headers: the exchange begun, answered or added to responses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from flask import Request, g
from werkzeug.wsgi import get_input_stream

from backendkit._runtime import AdapterState
from backendkit._wsgi import read_at_most
from backendkit.errors import APIError
from backendkit.security._exchange import OVERRIDES, Exchange

EXCHANGE = "backendkit.exchange"
"""The key of the request's :class:`~backendkit.security.Exchange` in its WSGI environ."""
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def begin(state: AdapterState, req: Request) -> None:
    """Begin the request's exchange (its headers are added to whatever response goes out), and its nonce."""
    environ = req.environ
    exchange = state.begin_exchange(
        environ,
        method=req.method,
        path=req.script_root + req.path,
        scheme=environ.get("wsgi.url_scheme", "http"),
    )
    if exchange is not None:
        environ[EXCHANGE] = exchange
        g.csp_nonce = exchange.nonce


class AnsweringFirst:
    """WSGI middleware around a Flask app's ``wsgi_app``: preflights and CSP reports answered before Flask runs.

    Flask runs every ``after_request`` hook on any response it sends, one that a
    first hook answered with included, so an app hook that reads what its own
    ``before_request`` hook set failed on a preflight (a 500). Answered here, as
    Django's middleware and the ASGI one answer them, no code of the app runs for
    them: the request id, the access line and the headers are backendkit's alone.
    Every other response gets its CORS and security headers here too, in the WSGI
    header list Flask hands to ``start_response`` (:func:`_decorating`).
    """

    def __init__(self, wsgi_app: WSGIApp, state: AdapterState) -> None:
        self.wsgi_app = wsgi_app
        self.state = state
        security = state.security
        self.cors = security is not None and security.cors is not None
        self.report_path = security.report_path if security is not None else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        preflight = self.cors and method == "OPTIONS" and "HTTP_ORIGIN" in environ
        if not (preflight and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ) and path != self.report_path:
            return self.wsgi_app(environ, _decorating(environ, start_response))
        return self._answer(environ, start_response, method, path)

    def _answer(
        self, environ: dict[str, Any], start_response: StartResponse, method: str, path: str
    ) -> Iterable[bytes]:
        state = self.state
        in_flight = state.start_request(
            environ.get(state.environ_key),
            traceparent=environ.get("HTTP_TRACEPARENT"),
            tracestate=environ.get("HTTP_TRACESTATE"),
            method=method,
            peer=environ.get("REMOTE_ADDR"),
            forwarded=state.forwarded_in(environ),
            path=path,
            scheme=environ.get("wsgi.url_scheme", "http"),
            request_size=environ.get("CONTENT_LENGTH"),
        )
        status, body = 500, b""
        try:
            headers = _Pairs([(state.header, in_flight.request_id)])
            try:
                status, body = self._status_and_body(environ, method, path, in_flight.facts.client_ip, headers)
            except Exception as exc:  # (a bug of ours: the envelope's 500, as for any other request)
                rendered = state.handle(exc, method=method, path=path).response
                status, body = rendered.status, rendered.body
                headers.pairs[1:] = list(rendered.headers)
            headers.pairs.append(("Content-Length", str(len(body))))
            in_flight.finish()
            start_response(f"{status} {HTTPStatus(status).phrase}", headers.pairs)
            return [body]
        finally:
            state.end_request(
                in_flight,
                path=path,
                query=environ.get("QUERY_STRING", ""),
                status=status,
                response_size=len(body),
                user_agent=environ.get("HTTP_USER_AGENT"),
            )

    def _status_and_body(
        self, environ: dict[str, Any], method: str, path: str, client: str | None, headers: _Pairs
    ) -> tuple[int, bytes]:
        state = self.state
        security = state.security
        assert security is not None
        exchange = state.begin_exchange(
            environ, method=method, path=path, scheme=environ.get("wsgi.url_scheme", "http")
        )
        assert exchange is not None
        error: APIError | None = None
        status = 204
        if exchange.preflight is not None:
            error = None if exchange.preflight.allowed else exchange.refusal()
        else:
            assert security.headers is not None
            limit = security.headers.report_max_bytes
            posted = method == "POST"  # (anything else is a 405: no body to read)
            stream = get_input_stream(environ, max_content_length=None)
            body = read_at_most(stream.read, limit + 1) if posted else b""
            try:
                status = security.take_report(body, environ.get("CONTENT_TYPE"), client, method)
            except APIError as refused:
                error = refused
        if error is None:
            exchange.decorate(headers)
            return status, b""
        rendered = state.render(error, path=path)
        headers.pairs += list(rendered.headers)
        exchange.decorate(headers)
        return rendered.status, rendered.body


def _decorating(environ: dict[str, Any], start_response: StartResponse) -> StartResponse:
    """``start_response`` adding the request's CORS and security headers (and the view's changes) first.

    Added to the WSGI header list Flask hands over, after Flask has copied and
    checked its own: werkzeug checks every field it is given, so adding the
    security headers to the response object cost each of them twice (in
    security_bench, 27 us against secure's WSGI middleware's 15).
    """

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        exchange: Exchange | None = environ.get(EXCHANGE)
        if exchange is not None:
            exchange.decorate(_Pairs(headers), environ.get(OVERRIDES))
        return start_response(status, headers, exc_info)

    return start


class _Pairs:
    """A WSGI response's header list as a :class:`~backendkit._headers.HeaderTarget` (names case-insensitive)."""

    __slots__ = ("pairs", "present")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self.present = {key.lower() for key, _ in pairs}

    def get(self, name: str) -> str | None:
        lowered = name.lower()
        if lowered not in self.present:
            return None
        return ", ".join(value for key, value in self.pairs if key.lower() == lowered)

    def __setitem__(self, name: str, value: str) -> None:
        lowered = name.lower()
        if lowered in self.present:
            self.pairs[:] = [(key, v) for key, v in self.pairs if key.lower() != lowered]
        self.pairs.append((name, value))
        self.present.add(lowered)

    def setdefault(self, name: str, value: str, /) -> None:
        lowered = name.lower()
        if lowered not in self.present:
            self.pairs.append((name, value))
            self.present.add(lowered)


def csp_nonce() -> dict[str, Any]:
    """The templates' ``csp_nonce`` (a context processor the extension installs)."""
    nonce = g.get("csp_nonce")
    return {"csp_nonce": nonce} if nonce is not None else {}
