"""Django views for the idempotency tests: sync and async, decorated, and covered by the middleware."""

from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import SimpleTemplateResponse
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


class Rendered(SimpleTemplateResponse):
    """A response rendered late, as a TemplateResponse or DRF's Response is (no template engine needed)."""

    @property
    def rendered_content(self) -> str:
        return f"run {len(runs)}"


@idempotent(keys)
def rendered(request: HttpRequest) -> SimpleTemplateResponse:
    runs.append("rendered")
    return Rendered(template=None, status=201)  # type: ignore[arg-type]


@idempotent(keys)
def upload(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"size": sum(f.size for f in request.FILES.values())}, status=201)


@idempotent(keys)
def count(request: HttpRequest) -> JsonResponse:
    runs.append("count")
    return JsonResponse({"run": len(runs)})


@idempotent(keys)
def missing(request: HttpRequest) -> JsonResponse:
    runs.append("missing")
    raise Http404("No such thing.")


@idempotent(keys)
def empty(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=204)
    del response["Content-Type"]
    return response


urlpatterns = [
    path("rendered", rendered),
    path("upload", upload),
    path("count", count),
    path("missing", missing),
    path("empty", empty),
    path("pay", pay),
    path("apay", apay),
    path("taken", taken),
    path("strict", strict),
    path("plain/<int:n>", plain),
]
