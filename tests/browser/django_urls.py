"""The Django example's URLs plus the routes the browser tests add (see tests/browser/apps.py)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from backendkit.django.auth import require
from backendkit.django.views import handler400, handler403, handler404, handler500
from examples.django_app.urls import urlpatterns as example_urlpatterns
from tests.browser.apps import BUG


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError(BUG)


@require()  # authentication first: a preflight that reached the view would be a 401
@require_http_methods(["PUT", "DELETE"])
def guarded(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"method": request.method})


urlpatterns = [
    *example_urlpatterns,
    path("boom", boom),
    path("guarded", guarded),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
