"""The middleware: request ids, and JSON for every error a view or the router produces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import Token

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed

from backendkit.context import request_id_var
from backendkit.django._respond import MARK, error_response, exception_response
from backendkit.django._state import get_state
from backendkit.errors import MethodNotAllowed, NotFound

GetResponse = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


class ErrorMiddleware:
    """Request ids and JSON errors; serves sync and async stacks alike.

    Put it first in ``MIDDLEWARE``. It renders exceptions raised by views, the
    router's 404, and the 405 that Django's class-based views return; the error
    views in ``backendkit.django.views`` cover exceptions raised by other middleware.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.state = get_state()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        token = self._begin(request)
        try:
            response = self.get_response(request)
            assert isinstance(response, HttpResponseBase)
            return self._finish(request, response)
        finally:
            request_id_var.reset(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        token = self._begin(request)
        try:
            response = self.get_response(request)
            assert not isinstance(response, HttpResponseBase)
            return self._finish(request, await response)
        finally:
            request_id_var.reset(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase:
        """Render any exception a view raised (Django calls this before its own handling)."""
        return exception_response(request, exception)

    def _begin(self, request: HttpRequest) -> Token[str | None]:
        # META, not request.headers: the latter builds a dict of every header first.
        request_id, token = self.state.start_request(request.META.get(self.state.environ_key))
        request.request_id = request_id  # type: ignore[attr-defined]
        return token

    def _finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not getattr(response, MARK, False):
            if isinstance(response, HttpResponseNotAllowed):
                response = error_response(request, MethodNotAllowed(response["Allow"].split(",")))
            elif response.status_code == 404 and getattr(request, "resolver_match", None) is None:
                response = error_response(request, NotFound())  # no URL pattern matched
        response[self.state.header] = request.request_id  # type: ignore[attr-defined]
        return response


__all__ = ["ErrorMiddleware", "GetResponse"]
