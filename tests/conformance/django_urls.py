"""The Django example's URLs plus the routes only the tests add."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from backendkit.context import get_request_id
from backendkit.django.auth import refresh_routes
from backendkit.django.views import handler400, handler403, handler404, handler500
from examples.django_app.urls import urlpatterns as example_urlpatterns
from tests.conformance.targets import BUG_MESSAGE, REFRESH_PATH, fail_validation, log_inside, refresh_issuer


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError(BUG_MESSAGE)


def boom_validation(request: HttpRequest) -> JsonResponse:
    fail_validation()
    raise AssertionError("unreachable")


async def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"request_id": get_request_id()})


@csrf_exempt
def form_echo(request: HttpRequest) -> JsonResponse:
    """The fields and the files (name: size) Django parsed from the body."""
    files = {name: upload.size for name, upload in request.FILES.items()}
    return JsonResponse({"fields": dict(request.POST.items()), "files": files})


def log(request: HttpRequest, item: str) -> JsonResponse:
    log_inside()
    return JsonResponse({"request_id": get_request_id()})


urlpatterns = [
    *example_urlpatterns,
    path("boom", boom),
    path("boom-validation", boom_validation),
    path("whoami", whoami),
    path("log/<str:item>", log),
    path("form-echo", form_echo),
    *refresh_routes(refresh_issuer(), path=REFRESH_PATH),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
