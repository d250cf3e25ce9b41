"""Django REST framework views with backendkit.http: preconditions, deprecation, NotModified and request.version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import include, path
from django.utils.decorators import method_decorator
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from backendkit.django.drf import APIVersioning
from backendkit.django.http import deprecated, preconditions
from backendkit.django.views import handler400, handler403, handler404, handler500
from backendkit.http import ETag, NotModified
from tests.django.test_http import OLD, RETIRED, VERSIONS

state = {"version": 1}


class Document(APIView):
    authentication_classes = ()
    permission_classes = ()
    renderer_classes = (JSONRenderer,)
    versioning_class = APIVersioning

    def get(self, request: Any) -> Response:
        preconditions(request).check(etag=ETag.for_version(state["version"]))  # 304 for a current copy
        return Response({"version": state["version"], "api": request.version}, headers=self.tag())

    def put(self, request: Any) -> Response:
        preconditions(request, required=True).check(etag=ETag.for_version(state["version"]))
        state["version"] += 1
        return Response({"version": state["version"], "body": request.data}, headers=self.tag())

    @method_decorator(deprecated(OLD))
    def delete(self, request: Any) -> Response:
        return Response(status=204)

    def tag(self) -> dict[str, str]:
        return {"ETag": str(ETag.for_version(state["version"]))}


class Revalidated(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Any) -> Response:
        raise NotModified({"ETag": '"v1"'})


urlpatterns = [
    path("document", Document.as_view()),
    path("retired", deprecated(RETIRED)(Document.as_view())),
    path("revalidated", Revalidated.as_view()),
    path("v1/", include([path("document", Document.as_view())])),
]


@pytest.fixture
def client() -> Iterator[Client]:
    state["version"] = 1
    with override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["backendkit.django.ErrorMiddleware"],
        BACKENDKIT={"CONDITIONAL_REQUESTS": True, "VERSIONING": VERSIONS},
        REST_FRAMEWORK={"UNAUTHENTICATED_USER": None},
    ):
        yield Client(raise_request_exception=False)


def code_of(response: Any) -> str:
    code: str = json.loads(response.content)["error"]["code"]
    return code


def test_a_drf_view_takes_preconditions_428_412_then_the_change(client: Client) -> None:
    body = json.dumps({"title": "x"})
    refused = client.put("/document", body, content_type="application/json")
    assert (refused.status_code, code_of(refused)) == (428, "PRECONDITION_REQUIRED")
    stale = client.put("/document", body, content_type="application/json", HTTP_IF_MATCH='"v0"')
    assert (stale.status_code, stale["ETag"]) == (412, '"v1"')
    done = client.put("/document", body, content_type="application/json", HTTP_IF_MATCH='"v1"')
    assert (done.status_code, done["ETag"], json.loads(done.content)["body"]) == (200, '"v2"', {"title": "x"})
    malformed = client.put("/document", body, content_type="application/json", HTTP_IF_MATCH="v2")
    assert (malformed.status_code, code_of(malformed)) == (400, "MALFORMED_PRECONDITION")


def test_a_drf_view_answers_304_and_not_modified_passes_drfs_handler(client: Client) -> None:
    assert client.get("/document", HTTP_IF_NONE_MATCH='"v1"').status_code == 304
    got = client.get("/revalidated")
    assert (got.status_code, got["ETag"], got.content) == (304, '"v1"', b"")


def test_drf_reads_the_version_the_middleware_resolved(client: Client) -> None:
    assert json.loads(client.get("/v1/document").content)["api"] == "1"
    assert json.loads(client.get("/document").content)["api"] is None
    assert client.get("/v1/document")["Deprecation"] == "@1767225600"


def test_deprecated_drf_views_and_methods(client: Client) -> None:
    assert client.delete("/document")["Deprecation"] == "@1767225600"
    assert "Deprecation" not in client.get("/document")
    gone = client.get("/retired")
    assert (gone.status_code, code_of(gone)) == (410, "GONE")


__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
