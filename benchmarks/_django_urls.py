"""Benchmark routes with backendkit: the same views as the plain ones but for the JSON body."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from backendkit.django import parse_json
from backendkit.django.views import handler400, handler403, handler404, handler500
from benchmarks._django_urls_plain import Item, boom, get_item


@require_http_methods(["POST"])
def create(request: HttpRequest) -> JsonResponse:
    return JsonResponse(parse_json(request, Item).model_dump())


urlpatterns = [path("items/<int:item_id>", get_item), path("items", create), path("boom", boom)]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
