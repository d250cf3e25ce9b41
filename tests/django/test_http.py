"""Django: the conditional layer, preconditions, API versions and deprecated views, through Django's own clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path
from django.utils.decorators import method_decorator
from django.views import View

from backendkit.django._checks import check_setup
from backendkit.django.http import deprecate, deprecated, preconditions
from backendkit.django.views import handler400, handler403, handler404, handler500
from backendkit.errors import NotFound
from backendkit.http import Deprecation, ETag, NotModified, Versioning, get_api_version
from tests.support.logs import LineCatcher

UTC = timezone.utc
OLD = Deprecation(datetime(2026, 1, 1, tzinfo=UTC), sunset=datetime(2099, 1, 1, tzinfo=UTC), link="https://x.test/v2")
RETIRED = Deprecation(
    datetime(2020, 1, 1, tzinfo=UTC),
    sunset=datetime(2021, 1, 1, tzinfo=UTC),
    link="https://x.test/v2",
    gone_after_sunset=True,
)
VERSIONS = Versioning({"1": OLD, "2": None}, source="path")
DEPRECATION = ("@1767225600", "Sunset", "Thu, 01 Jan 2099 00:00:00 GMT")
LINK = '<https://x.test/v2>; rel="deprecation"; type="text/html"'

calls: list[str] = []
document = {"version": 3}


def item(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"id": 1, "api_version": getattr(request, "api_version", "unset"), "var": get_api_version()})


def tagged(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"version": document["version"]})
    response["ETag"] = str(ETag.for_version(document["version"]))
    return response


def put_document(request: HttpRequest) -> JsonResponse:
    asked = preconditions(request, required=True)
    calls.append("read body")  # (after the 428: a route reads its body only once its preconditions hold)
    asked.check(etag=ETag.for_version(document["version"]))
    document["version"] += 1
    response = JsonResponse({"version": document["version"]})
    response["ETag"] = str(ETag.for_version(document["version"]))
    return response


def optional(request: HttpRequest) -> JsonResponse:
    asked = preconditions(request)
    return JsonResponse({"expected": asked.expected_version, "required": asked.required})


def revalidated(request: HttpRequest) -> JsonResponse:
    preconditions(request).check(etag=ETag.for_version(7))  # NotModified for a current copy
    return JsonResponse({"version": 7})


def not_modified(request: HttpRequest) -> HttpResponse:
    raise NotModified({"ETag": '"v9"', "Cache-Control": "max-age=60"})


def streamed(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"a", b"b"]), content_type="text/plain")


def missing(request: HttpRequest) -> JsonResponse:
    raise NotFound("No such thing.")


@deprecated(OLD)
def old_report(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@deprecated(OLD)
def old_missing(request: HttpRequest) -> JsonResponse:
    raise NotFound("No such thing.")


@deprecated(OLD)
def old_linked(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"ok": True})
    response["Link"] = '</next>; rel="next"'
    return response


@deprecated(RETIRED)
def retired(request: HttpRequest) -> JsonResponse:
    calls.append("retired view ran")
    return JsonResponse({"ok": True})


@deprecated(OLD)
async def old_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class Report(View):
    @method_decorator(deprecated(OLD))
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})


def ok(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


CLOSED: list[str] = []


class _Closing:
    """A streamed body that says when it is closed (a file would be)."""

    def __iter__(self) -> Any:
        return iter([b'{"ok":true}'])

    def close(self) -> None:
        CLOSED.append("closed")


def closing(request: HttpRequest) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_Closing(), content_type="application/json")
    response["ETag"] = '"c1"'
    response.set_cookie("seen", "1")
    response["X-Inner"] = "ran"
    return response


versioned = [path("item", item), path("missing", missing)]
urlpatterns = [
    path("item", item),
    path("tagged", tagged),
    path("document", put_document),
    path("optional", optional),
    path("revalidated", revalidated),
    path("not-modified", not_modified),
    path("streamed", streamed),
    path("closing", closing),
    path("missing", missing),
    path("old", old_report),
    path("old-missing", old_missing),
    path("old-linked", old_linked),
    path("old-async", old_async),
    path("retired", retired),
    path("report", Report.as_view()),
    path("v1/", include(versioned)),
    path("v2/", include(versioned)),
    path("dep/", include(deprecate([path("ok", ok), path("inner/", include([path("ok", ok)]))], OLD))),
]

BASE = {"ERROR_FORMAT": "envelope", "CONDITIONAL_REQUESTS": True, "VERSIONING": VERSIONS}


def configured(**backendkit: Any) -> Any:
    return override_settings(
        ROOT_URLCONF=__name__, MIDDLEWARE=["backendkit.django.ErrorMiddleware"], BACKENDKIT=backendkit
    )


@pytest.fixture
def client() -> Iterator[Client]:
    calls.clear()
    document["version"] = 3
    with configured(**BASE):
        yield Client(raise_request_exception=False)


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response.content)["error"]
    return body


def deprecation_of(response: Any) -> tuple[str | None, ...]:
    return (response.get("Deprecation"), "Sunset", response.get("Sunset"))


# The conditional layer ---------------------------------------------------------------------------


def test_a_200_get_gets_a_strong_etag_of_its_bytes_and_a_head_the_same(client: Client) -> None:
    got = client.get("/item")
    assert got["ETag"] == str(ETag.of(got.content))
    assert client.head("/item")["ETag"] == got["ETag"]


def test_a_current_copy_is_answered_304_with_the_200s_headers_but_its_representation_metadata(client: Client) -> None:
    tag = client.get("/item")["ETag"]
    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        got = client.get("/item", HTTP_IF_NONE_MATCH=sent)
        assert got.status_code == 304, sent
        assert got.content == b""
        assert got["ETag"] == tag
        assert "Content-Type" not in got
        assert "X-Request-ID" in got  # (the request id is added outside the layer)
    assert client.head("/item", HTTP_IF_NONE_MATCH=tag).status_code == 304
    assert client.get("/item", HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_a_views_own_etag_wins_and_is_revalidated(client: Client) -> None:
    got = client.get("/tagged")
    assert got["ETag"] == '"v3"'
    assert client.get("/tagged", HTTP_IF_NONE_MATCH='"v3"').status_code == 304
    assert client.get("/tagged", HTTP_IF_NONE_MATCH='"v2"').status_code == 200


def test_a_get_whose_if_match_fails_is_a_412_with_the_current_tag(client: Client) -> None:
    got = client.get("/tagged", HTTP_IF_MATCH='"v2"')
    assert got.status_code == 412
    assert got["ETag"] == '"v3"'
    assert error_of(got)["details"] == {"etag": '"v3"'}
    assert client.get("/tagged", HTTP_IF_MATCH='"v3"').status_code == 200


def test_errors_streams_and_unsafe_methods_get_no_etag(client: Client) -> None:
    assert "ETag" not in client.get("/missing")
    assert "ETag" not in client.get("/streamed")
    assert "ETag" not in client.post("/item")


def test_a_malformed_if_match_is_a_400_before_the_view(client: Client) -> None:
    got = client.get("/item", HTTP_IF_MATCH="v3")
    assert got.status_code == 400
    assert error_of(got)["code"] == "MALFORMED_PRECONDITION"


def test_not_modified_raised_by_a_view_is_a_304_with_its_headers(client: Client) -> None:
    got = client.get("/not-modified")
    assert (got.status_code, got.content, got["ETag"], got["Cache-Control"]) == (304, b"", '"v9"', "max-age=60")
    assert client.get("/revalidated", HTTP_IF_NONE_MATCH='"v7"').status_code == 304
    assert client.get("/revalidated").status_code == 200


def test_the_async_stack_gives_the_same_answers() -> None:
    async def run() -> list[Any]:
        async_client = AsyncClient()
        tag = (await async_client.get("/item"))["ETag"]
        return [
            await async_client.get("/item", headers={"If-None-Match": tag}),
            await async_client.get("/v1/item"),
            await async_client.get("/v9/item"),
            await async_client.get("/old-async"),
            await async_client.get("/retired"),
        ]

    with configured(**BASE):
        not_modified_, v1, v9, old, gone = asyncio.run(run())
    assert not_modified_.status_code == 304
    assert json.loads(v1.content)["api_version"] == "1"
    assert deprecation_of(v1) == DEPRECATION
    assert v9.status_code == 404
    assert deprecation_of(old) == DEPRECATION
    assert gone.status_code == 410


# preconditions(request, required=) ---------------------------------------------------------------


def test_a_required_precondition_refuses_an_unconditional_change_before_the_body(client: Client) -> None:
    got = client.put("/document", b"{}", content_type="application/json")
    assert got.status_code == 428
    assert error_of(got)["code"] == "PRECONDITION_REQUIRED"
    assert calls == []


def test_a_stale_tag_is_a_412_with_the_current_one_and_a_current_tag_changes(client: Client) -> None:
    stale = client.put("/document", b"{}", content_type="application/json", HTTP_IF_MATCH='"v2"')
    assert (stale.status_code, stale["ETag"], error_of(stale)["details"]) == (412, '"v3"', {"etag": '"v3"'})
    done = client.put("/document", b"{}", content_type="application/json", HTTP_IF_MATCH='"v3"')
    assert (done.status_code, done["ETag"]) == (200, '"v4"')
    again = client.put("/document", b"{}", content_type="application/json", HTTP_IF_MATCH='"v3"')
    assert again.status_code == 412


def test_if_none_match_star_on_an_existing_resource_is_a_412(client: Client) -> None:
    assert client.put("/document", b"{}", HTTP_IF_NONE_MATCH="*").status_code == 412


def test_a_malformed_if_match_on_a_change_is_a_400(client: Client) -> None:
    got = client.put("/document", b"{}", HTTP_IF_MATCH="v3, ")
    assert (got.status_code, error_of(got)["code"]) == (400, "MALFORMED_PRECONDITION")


def test_preconditions_read_the_headers_themselves_with_the_layer_off() -> None:
    document["version"] = 3
    with configured(ERROR_FORMAT="envelope"):
        client = Client()
        assert client.put("/document", b"{}").status_code == 428
        assert client.put("/document", b"{}", HTTP_IF_MATCH='"v1"').status_code == 412
        assert client.put("/document", b"{}", HTTP_IF_MATCH="nope").status_code == 400
        assert client.put("/document", b"{}", HTTP_IF_MATCH='"v3"').status_code == 200
        got = client.post("/optional", HTTP_IF_MATCH='"v12"')
        assert json.loads(got.content) == {"expected": "12", "required": False}
        assert client.post("/optional").status_code == 200
        assert "ETag" not in client.get("/item")  # (and no layer: no automatic tag)


# API versions -------------------------------------------------------------------------------------


def test_the_version_a_path_names_is_the_requests_and_the_contexts(client: Client) -> None:
    assert json.loads(client.get("/v2/item").content) == {"id": 1, "api_version": "2", "var": "2"}
    assert json.loads(client.get("/item").content) == {"id": 1, "api_version": None, "var": None}
    assert get_api_version() is None  # (reset once the request is over)


def test_a_deprecated_versions_answers_carry_its_headers_errors_included(client: Client) -> None:
    for url, status in (("/v1/item", 200), ("/v1/missing", 404), ("/v1/nowhere", 404)):
        got = client.get(url)
        assert got.status_code == status, url
        assert deprecation_of(got) == DEPRECATION, url
        assert got["Link"] == LINK
    assert "Deprecation" not in client.get("/v2/item")


def test_an_unknown_version_is_a_404_listing_the_served_ones(client: Client) -> None:
    got = client.get("/v9/item")
    error = error_of(got)
    assert (got.status_code, error["code"]) == (404, "UNSUPPORTED_VERSION")
    assert error["details"] == {"requested": "9", "supported": ["1", "2"]}


def test_a_header_version_is_a_400_when_unknown_and_varies_the_answers() -> None:
    with configured(VERSIONING={"versions": ["1", "2"], "source": "header"}):
        client = Client()
        got = client.get("/item", HTTP_API_VERSION="1")
        assert json.loads(got.content)["api_version"] == "1"
        assert got["Vary"] == "API-Version"
        assert json.loads(client.get("/item").content)["api_version"] == "2"
        refused = client.get("/item", HTTP_API_VERSION="3")
        assert (refused.status_code, error_of(refused)["code"]) == (400, "UNSUPPORTED_VERSION")


def test_the_settings_take_dotted_paths() -> None:
    with configured(VERSIONING=f"{__name__}.VERSIONS", CONDITIONAL_REQUESTS={"auto_etag": False}):
        client = Client()
        got = client.get("/v2/item")
        assert json.loads(got.content)["api_version"] == "2"
        assert "ETag" not in got


@pytest.mark.parametrize(
    ("name", "value"), [("VERSIONING", {"versions": []}), ("CONDITIONAL_REQUESTS", "yes"), ("VERSIONING", 2)]
)
def test_a_bad_setting_is_refused_at_start_up(name: str, value: Any) -> None:
    with configured(**{name: value}):
        assert [m.id for m in check_setup()] == ["backendkit.E002"]
        with pytest.raises(ImproperlyConfigured, match=name):
            Client().get("/item")


# Deprecated views and URL patterns ---------------------------------------------------------------


@pytest.mark.parametrize("url", ["/old", "/old-async", "/report", "/dep/ok", "/dep/inner/ok"])
def test_a_deprecated_views_answers_carry_its_headers(client: Client, url: str) -> None:
    got = client.get(url)
    assert got.status_code == 200
    assert deprecation_of(got) == DEPRECATION
    assert got["Link"] == LINK


def test_a_deprecated_views_errors_carry_its_headers_and_other_views_none(client: Client) -> None:
    got = client.get("/old-missing")
    assert (got.status_code, deprecation_of(got)) == (404, DEPRECATION)
    assert "Deprecation" not in client.post("/report")  # (only the view's GET is deprecated)
    assert "Deprecation" not in client.get("/item")


def test_a_views_own_link_is_kept_beside_the_deprecations(client: Client) -> None:
    assert client.get("/old-linked")["Link"] == f'</next>; rel="next", {LINK}'


def test_a_retired_view_is_a_410_and_never_runs(client: Client) -> None:
    got = client.get("/retired")
    assert (got.status_code, error_of(got)["code"]) == (410, "GONE")
    assert got["Deprecation"] == "@1577836800"
    assert got["Sunset"] == "Fri, 01 Jan 2021 00:00:00 GMT"
    assert got["Link"] == LINK
    assert calls == []


def test_deprecated_views_work_with_both_layers_off() -> None:
    with configured():
        client = Client()
        assert deprecation_of(client.get("/old")) == DEPRECATION
        assert client.get("/retired").status_code == 410


def test_the_access_line_says_a_call_was_deprecated(client: Client, log_lines: LineCatcher) -> None:
    client.get("/old")
    client.get("/item")
    access = {line["http_path"]: line.get("deprecated") for line in log_lines.lines if "http_path" in line}
    assert access == {"/old": True, "/item": None}


__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def test_a_304_or_a_412_in_place_of_an_answer_is_that_answer_closed_and_with_its_cookies(client: Client) -> None:
    CLOSED.clear()
    fresh = client.get("/closing", headers={"If-None-Match": '"c1"'})
    assert (fresh.status_code, b"".join(fresh.streaming_content)) == (304, b"")  # type: ignore[attr-defined]
    fresh.close()  # (what the handler does once the answer is sent)
    assert CLOSED == ["closed"]
    assert "Content-Type" not in fresh
    assert fresh.cookies["seen"].value == "1"
    failed = client.get("/closing", headers={"If-Match": '"c0"'})
    assert failed.status_code == 412
    body = b"".join(failed.streaming_content)  # type: ignore[attr-defined]
    failed.close()
    assert CLOSED == ["closed", "closed"]
    assert json.loads(body)["error"]["code"] == "PRECONDITION_FAILED"
    assert (failed["X-Inner"], failed["ETag"], failed["Content-Type"]) == ("ran", '"c1"', "application/json")
    assert failed.cookies["seen"].value == "1"
