"""Benchmark routes, written as a Django app without backendkit would write them."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_http_methods
from pydantic import BaseModel, Field, ValidationError


class Item(BaseModel):
    name: str = Field(min_length=1)


def get_item(request: HttpRequest, item_id: int) -> JsonResponse:
    return JsonResponse({"id": item_id})


@require_http_methods(["POST"])
def create(request: HttpRequest) -> JsonResponse:
    try:
        item = Item.model_validate(json.loads(request.body))
    except ValidationError as exc:
        return JsonResponse({"errors": exc.errors(include_input=False, include_url=False)}, status=422)
    return JsonResponse(item.model_dump())


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("bench")


urlpatterns = [path("items/<int:item_id>", get_item), path("items", create), path("boom", boom)]
