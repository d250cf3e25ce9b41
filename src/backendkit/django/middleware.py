"""The middleware: request ids, and JSON for every error a view or the router produces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import Token

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed

from backendkit._runtime import new_request_id
from backendkit.context import choose_request_id, request_id_var
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
        self.settings = get_state().settings
        self.header = self.settings.request_id_header
        # request.headers builds a dict of every header on first use; META is already there.
        self.meta_key = "HTTP_" + self.header.upper().replace("-", "_")
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
        request_id = choose_request_id(
            request.META.get(self.meta_key),
            trust_incoming=self.settings.trust_request_id,
            generate=new_request_id,
        )
        request.request_id = request_id  # type: ignore[attr-defined]
        return request_id_var.set(request_id)

    def _finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not getattr(response, MARK, False):
            if isinstance(response, HttpResponseNotAllowed):
                response = error_response(request, MethodNotAllowed(response["Allow"].split(",")))
            elif response.status_code == 404 and getattr(request, "resolver_match", None) is None:
                response = error_response(request, NotFound())  # no URL pattern matched
        response[self.header] = request.request_id  # type: ignore[attr-defined]
        return response


__all__ = ["ErrorMiddleware", "GetResponse"]
