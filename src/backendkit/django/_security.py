"""The middleware's part in CORS and security headers: the exchange begun, and preflights and reports answered."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from backendkit._runtime import AdapterState
from backendkit._wsgi import read_at_most
from backendkit.django._respond import to_response
from backendkit.errors import APIError
from backendkit.security._exchange import Exchange

EXCHANGE = "backendkit.exchange"
"""The key of the request's :class:`~backendkit.security.Exchange` in ``request.META``."""


def begin_exchange(state: AdapterState, request: HttpRequest) -> None:
    """Begin the request's exchange; its nonce becomes ``request.csp_nonce``."""
    meta = request.META
    exchange = state.begin_exchange(
        meta, method=request.method or "", path=request.path, scheme=request.scheme or "http"
    )
    if exchange is not None:
        meta[EXCHANGE] = exchange
        request.csp_nonce = exchange.nonce  # type: ignore[attr-defined]


def answer(state: AdapterState, exchange: Exchange, request: HttpRequest, client: str | None) -> HttpResponse:
    """A preflight's answer (204, or 403 ``CORS_REFUSED``), or a CSP report's (204, or the error)."""
    assert state.security is not None
    if exchange.preflight is not None:
        if not exchange.preflight.allowed:
            return to_response(state.render(exchange.refusal(), path=request.path))
        return _empty(204)
    assert state.security.headers is not None
    limit = state.security.headers.report_max_bytes
    meta = request.META
    # A WSGI body the server ends itself (chunked) has no length, which Django reads as no body.
    terminated = meta.get("wsgi.input_terminated") and not meta.get("CONTENT_LENGTH")
    posted = request.method == "POST"  # (anything else is a 405: no body to read)
    body = read_at_most(meta["wsgi.input"].read if terminated else request.read, limit + 1) if posted else b""
    try:
        status = state.security.take_report(body, meta.get("CONTENT_TYPE"), client, request.method or "")
    except APIError as error:
        return to_response(state.render(error, path=request.path))
    return _empty(status)


def _empty(status: int) -> HttpResponse:
    response = HttpResponse(status=status)
    del response["Content-Type"]
    return response


class Fields:
    """A Django response's headers as the :class:`~backendkit._headers.HeaderTarget` the exchange decorates.

    The names present are read once: Django's ``get`` (and ``in``) of an absent
    field raises and catches a ``KeyError``, and the security headers look for
    seven absent ones on every response.
    """

    __slots__ = ("_headers", "_present")

    def __init__(self, response: HttpResponseBase) -> None:
        self._headers = response.headers
        self._present = {name.lower() for name in self._headers}

    def get(self, name: str) -> str | None:
        if name.lower() not in self._present:
            return None
        value: str = self._headers[name]
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self._headers[name] = value
        self._present.add(name.lower())

    def setdefault(self, name: str, value: str, /) -> None:
        lowered = name.lower()
        if lowered not in self._present:
            self._headers[name] = value
            self._present.add(lowered)
