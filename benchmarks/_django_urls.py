"""Benchmark routes with backendkit."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_http_methods
from pydantic import BaseModel, Field

from backendkit.django import parse_json
from backendkit.django.views import handler400, handler403, handler404, handler500


class Item(BaseModel):
    name: str = Field(min_length=1)


def get_item(request: HttpRequest, item_id: int) -> JsonResponse:
    return JsonResponse({"id": item_id})


@require_http_methods(["POST"])
def create(request: HttpRequest) -> JsonResponse:
    return JsonResponse(parse_json(request, Item).model_dump())


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("bench")


urlpatterns = [path("items/<int:item_id>", get_item), path("items", create), path("boom", boom)]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
