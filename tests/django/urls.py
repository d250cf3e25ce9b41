"""Routes for the Django adapter tests."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path

from backendkit.django.views import handler400, handler403, handler404, handler500


def ok(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def not_found(request: HttpRequest) -> JsonResponse:
    raise Http404("No Invoice matches the given query (secret-model-name).")


def denied(request: HttpRequest) -> JsonResponse:
    raise PermissionDenied("internal reason")


def suspicious(request: HttpRequest) -> JsonResponse:
    raise SuspiciousOperation("attack details")


async def async_boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("async secret")


urlpatterns = [
    path("ok", ok),
    path("not-found", not_found),
    path("denied", denied),
    path("suspicious", suspicious),
    path("async-boom", async_boom),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
