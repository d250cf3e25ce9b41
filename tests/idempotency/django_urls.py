"""Django views for the idempotency tests: sync and async, decorated, and covered by the middleware."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.urls import path

from backendkit.django.idempotency import idempotent
from backendkit.errors import Conflict
from backendkit.idempotency import Idempotency, MemoryStore

runs: list[str] = []
keys = Idempotency(MemoryStore())
middleware_keys = Idempotency(MemoryStore())


@idempotent(keys)
def pay(request: HttpRequest) -> JsonResponse:
    runs.append("sync")
    return JsonResponse({"run": len(runs), "body": json.loads(request.body)}, status=201)


@idempotent(keys)
async def apay(request: HttpRequest) -> JsonResponse:
    runs.append("async")
    return JsonResponse({"run": len(runs)}, status=201)


@idempotent(keys)
def taken(request: HttpRequest) -> JsonResponse:
    runs.append("taken")
    raise Conflict("Taken.")


@idempotent(keys, required=True)
def strict(request: HttpRequest) -> JsonResponse:
    runs.append("strict")
    return JsonResponse({}, status=201)


def plain(request: HttpRequest, n: int) -> JsonResponse:  # covered by the middleware only
    runs.append("plain")
    return JsonResponse({"run": len(runs)}, status=201)


urlpatterns = [
    path("pay", pay),
    path("apay", apay),
    path("taken", taken),
    path("strict", strict),
    path("plain/<int:n>", plain),
]
