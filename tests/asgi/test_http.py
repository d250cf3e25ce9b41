"""The HTTP semantics layer (backendkit.asgi.http) on plain ASGI apps: real messages, no framework."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone
from typing import Any

import pytest

from backendkit.asgi import ErrorMiddleware, Message, Scope
from backendkit.asgi.http import EXCHANGE, HttpMiddleware, deprecate, exchange_of, preconditions_of
from backendkit.errors import APIError, Conflict
from backendkit.http import (
    ConditionalRequests,
    Deprecation,
    ETag,
    HttpSemantics,
    NotModified,
    Versioning,
    get_api_version,
)

OLD = Deprecation(
    datetime(2026, 6, 1, tzinfo=timezone.utc),
    sunset=datetime(2027, 6, 1, tzinfo=timezone.utc),
    link="https://example.com/migrate",
)
RETIRED = Deprecation(
    datetime(2025, 1, 1, tzinfo=timezone.utc),
    sunset=datetime(2026, 1, 1, tzinfo=timezone.utc),
    gone_after_sunset=True,
)
BODY = b'{"hello":"world"}'


def scope_of(method: str = "GET", path: str = "/x", **headers: str) -> Scope:
    raw = [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "method": method, "path": path, "headers": raw, "query_string": b""}


def run(app: Any, scope: Scope) -> tuple[int, dict[str, str], bytes, list[Message]]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert not sent[-1].get("more_body", False)  # every response is finished, once
    return start["status"], headers, body, sent


def responder(
    body: bytes = BODY,
    status: int = 200,
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: int = 1,
    length: bool | None = None,
) -> Any:
    """An app sending ``body`` in ``chunks`` messages, with its Content-Length (by default when in one)."""

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        out = [(b"content-type", b"application/json"), *(headers or [])]
        if length if length is not None else chunks == 1:
            out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        size = max(1, len(body) // chunks)
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})

    return app


def test_a_200_get_gets_a_strong_etag_from_its_bytes_and_a_matching_if_none_match_a_304() -> None:
    app = ErrorMiddleware(responder(), conditional_requests=True)
    status, headers, body, _ = run(app, scope_of())
    assert (status, body) == (200, BODY)
    assert headers["etag"] == str(ETag.of(BODY))
    status, headers304, body, _ = run(app, scope_of(if_none_match=headers["etag"]))
    assert (status, body) == (304, b"")
    assert headers304["etag"] == headers["etag"]
    assert "content-type" not in headers304
    assert "content-length" not in headers304
    assert "x-request-id" in headers304  # the request-id layer is outside: the 304 carries its header


def test_a_head_gets_the_etag_of_the_body_a_get_would_have_had() -> None:
    app = ErrorMiddleware(responder(), conditional_requests=True)
    get = run(app, scope_of())[1]["etag"]
    assert run(app, scope_of("HEAD"))[1]["etag"] == get


def test_a_head_whose_body_the_framework_dropped_goes_untagged() -> None:
    async def head_only(scope: Scope, receive: Any, send: Any) -> None:
        headers = [(b"content-length", b"17")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    status, headers, _, _ = run(ErrorMiddleware(head_only, conditional_requests=True), scope_of("HEAD"))
    assert status == 200
    assert "etag" not in headers


def test_the_route_s_own_etag_wins_and_a_body_of_known_length_is_tagged_whatever_its_messages() -> None:
    own = responder(headers=[(b"etag", b'"v3"')])
    app = ErrorMiddleware(own, conditional_requests=True)
    assert run(app, scope_of())[1]["etag"] == '"v3"'
    assert run(app, scope_of(if_none_match='W/"v3"'))[0] == 304  # weak comparison for GET
    chunked = ErrorMiddleware(responder(chunks=4, length=True), conditional_requests=True)
    status, headers, body, _ = run(chunked, scope_of())
    assert (status, body, headers["etag"]) == (200, BODY, str(ETag.of(BODY)))


def test_a_stream_without_a_length_goes_out_as_it_comes_untagged() -> None:
    # Server-sent events: holding the stream for its tag would hold every event until the stream ended
    # (and Flask's and Django's streamed responses go untagged too).
    first_sent = asyncio.Event()
    seen: list[Message] = []

    async def events(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        await asyncio.wait_for(first_sent.wait(), timeout=5)  # the client has the first event before the next
        await send({"type": "http.response.body", "body": b"data: 2\n\n", "more_body": False})

    async def main() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            seen.append(message)
            if message.get("body") == b"data: 1\n\n":
                first_sent.set()

        await ErrorMiddleware(events, conditional_requests=True)(scope_of(), receive, send)

    asyncio.run(main())
    assert [m.get("body") for m in seen[1:]] == [b"data: 1\n\n", b"data: 2\n\n"]
    assert b"etag" not in dict(seen[0]["headers"])


def test_a_failure_while_a_start_is_held_is_the_500_envelope_with_the_request_id() -> None:
    async def breaks(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        raise RuntimeError("the rest of the body could not be made")

    status, headers, body, _ = run(ErrorMiddleware(breaks, conditional_requests=True), scope_of())
    assert status == 500
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "INTERNAL_ERROR"
    assert json.loads(body)["error"]["request_id"] == headers["x-request-id"]
    assert "etag" not in headers


def test_a_body_over_max_body_goes_out_untagged_as_it_comes() -> None:
    big = b"x" * 1000
    setting = ConditionalRequests(max_body=100)
    status, headers, body, sent = run(
        ErrorMiddleware(responder(big, chunks=10, length=True), conditional_requests=setting), scope_of()
    )
    assert (status, body) == (200, big)
    assert "etag" not in headers
    assert len(sent) > 2  # still streamed, not gathered into one message


def test_other_statuses_and_methods_are_left_alone() -> None:
    app = ErrorMiddleware(responder(status=201), conditional_requests=True)
    assert "etag" not in run(app, scope_of())[1]
    post = ErrorMiddleware(responder(), conditional_requests=True)
    assert "etag" not in run(post, scope_of("POST"))[1]


def test_a_get_whose_if_match_fails_is_a_412_with_the_current_tag() -> None:
    app = ErrorMiddleware(responder(headers=[(b"etag", b'"v2"')]), conditional_requests=True)
    status, headers, body, sent = run(app, scope_of(if_match='"v1"'))
    assert status == 412
    assert headers["etag"] == '"v2"'
    error = json.loads(body)["error"]
    assert (error["code"], error["details"]) == ("PRECONDITION_FAILED", {"etag": '"v2"'})
    assert int(headers["content-length"]) == len(body)
    assert len(sent) == 2


def test_a_malformed_if_match_is_a_400_before_the_app_runs() -> None:
    ran = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        ran.append(scope)
        await responder()(scope, receive, send)

    status, _, body, _ = run(ErrorMiddleware(app, conditional_requests=True), scope_of(if_match="v1"))
    assert status == 400
    assert json.loads(body)["error"]["code"] == "MALFORMED_PRECONDITION"
    assert ran == []


def test_path_versions_unknown_404_deprecated_headers_on_every_answer_and_the_version_in_scope() -> None:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append((scope["state"]["api_version"], get_api_version()))
        if scope["path"].endswith("/missing"):
            raise Conflict("taken")
        await responder()(scope, receive, send)

    versions = Versioning({"1": OLD, "2": None})
    mw = ErrorMiddleware(app, versioning=versions)
    status, headers, _, _ = run(mw, scope_of(path="/v1/tasks"))
    assert status == 200
    assert headers["deprecation"] == "@1780272000"
    assert headers["sunset"] == "Tue, 01 Jun 2027 00:00:00 GMT"
    assert headers["link"] == '<https://example.com/migrate>; rel="deprecation"; type="text/html"'
    assert "etag" not in headers  # the conditional layer is off
    status, headers, _, _ = run(mw, scope_of(path="/v1/missing"))
    assert status == 409
    assert headers["deprecation"] == "@1780272000"
    assert "deprecation" not in run(mw, scope_of(path="/v2/tasks"))[1]
    assert seen == [("1", "1"), ("1", "1"), ("2", "2")]
    status, _, body, _ = run(mw, scope_of(path="/v9/tasks"))
    assert status == 404
    assert json.loads(body)["error"]["details"] == {"requested": "9", "supported": ["1", "2"]}
    assert get_api_version() is None  # reset after the request


def test_header_versions_answer_400_for_an_unknown_one_and_vary_on_the_header() -> None:
    mw = ErrorMiddleware(responder(), versioning=Versioning(["1", "2"], source="header"))
    status, headers, _, _ = run(mw, scope_of(api_version="1"))
    assert status == 200
    assert headers["vary"] == "API-Version"
    status, headers, body, _ = run(mw, scope_of(api_version="3"))
    assert status == 400
    assert json.loads(body)["error"]["code"] == "UNSUPPORTED_VERSION"


def test_a_retired_version_is_410_with_its_headers() -> None:
    mw = ErrorMiddleware(responder(), versioning=Versioning({"0": RETIRED, "1": None}))
    status, headers, body, _ = run(mw, scope_of(path="/v0/x"))
    assert status == 410
    assert headers["deprecation"] == "@1735689600"
    assert json.loads(body)["error"]["code"] == "GONE"


def test_a_route_deprecates_itself_through_the_exchange_or_the_header_channel() -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        deprecate(scope, OLD)
        await responder()(scope, receive, send)

    for options in ({"conditional_requests": True}, {}):
        status, headers, _, _ = run(ErrorMiddleware(app, **options), scope_of())
        assert (status, headers["deprecation"]) == (200, "@1780272000"), options
        assert headers["link"].startswith("<https://example.com/migrate>")

    async def retired(scope: Scope, receive: Any, send: Any) -> None:
        deprecate(scope, RETIRED)

    for options in ({"conditional_requests": True}, {}):
        status, headers, _, _ = run(ErrorMiddleware(retired, **options), scope_of())
        assert (status, headers["deprecation"]) == (410, "@1735689600"), options


def test_the_access_line_says_deprecated(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        deprecate(scope, OLD)
        await responder()(scope, receive, send)

    with caplog.at_level(logging.INFO, logger="backendkit.access"):
        run(ErrorMiddleware(app), scope_of())
        run(ErrorMiddleware(responder()), scope_of())
    lines = [r for r in caplog.records if r.name == "backendkit.access"]
    assert [getattr(r, "deprecated", False) for r in lines] == [True, False]


def test_preconditions_of_a_request() -> None:
    found = preconditions_of(scope_of("PUT", if_match='"v4"'), required=True)
    assert found.expected_version == "4"

    with pytest.raises(APIError) as refused:
        preconditions_of(scope_of("PUT"), required=True)
    assert refused.value.status == 428
    with pytest.raises(APIError) as malformed:
        preconditions_of(scope_of("PUT", if_match="nope"))
    assert (malformed.value.status, malformed.value.code) == (400, "MALFORMED_PRECONDITION")


def test_without_a_setting_the_layer_is_not_there() -> None:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(exchange_of(scope))
        await responder()(scope, receive, send)

    status, headers, _, _ = run(ErrorMiddleware(app), scope_of())
    assert status == 200
    assert "etag" not in headers
    assert seen == [None]
    inactive = HttpMiddleware(app, semantics=HttpSemantics())
    scope = scope_of()
    run(inactive, scope)
    assert EXCHANGE not in scope


def test_not_modified_raised_is_left_to_the_framework_adapters() -> None:
    # (plain ASGI has no route layer: Starlette and FastAPI answer it 304, see their tests)
    assert NotModified({"ETag": '"v1"'}).headers == {"ETag": '"v1"'}


def test_an_unsafe_request_s_preconditions_are_left_to_its_route() -> None:
    # (a route without preconditions() ignores them; a method no route serves is still its 405)
    app = ErrorMiddleware(responder(status=204, body=b""), conditional_requests=True)
    assert run(app, scope_of("DELETE", if_match="garbage"))[0] == 204
    with pytest.raises(APIError) as malformed:
        preconditions_of(scope_of("PUT", if_match="garbage"))
    assert malformed.value.code == "MALFORMED_PRECONDITION"


def test_the_412_in_place_of_an_answer_keeps_what_the_app_added_but_its_representation() -> None:
    headers = [
        (b"etag", b'"v2"'),
        (b"set-cookie", b"seen=1; Path=/"),
        (b"x-hook", b"ran"),
        (b"cache-control", b"max-age=60"),
    ]
    app = ErrorMiddleware(responder(headers=headers), conditional_requests=True)
    status, sent, body, _ = run(app, scope_of(if_match='"v1"'))
    assert status == 412
    assert (sent["set-cookie"], sent["x-hook"], sent["etag"]) == ("seen=1; Path=/", "ran", '"v2"')
    assert "cache-control" not in sent  # the 200's caching is not the error's
    assert sent["content-length"] == str(len(body))


@pytest.mark.parametrize("options", [{}, {"conditional_requests": True}], ids=["no setting", "the layer on"])
def test_a_route_s_deprecation_replaces_its_router_s_whatever_the_settings(options: dict[str, Any]) -> None:
    later = Deprecation(datetime(2026, 9, 1, tzinfo=timezone.utc), link="https://example.com/route")

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        deprecate(scope, OLD)  # the router's
        deprecate(scope, later)  # then the route's own
        await responder()(scope, receive, send)

    status, headers, _, _ = run(ErrorMiddleware(app, **options), scope_of())
    assert status == 200
    assert headers["deprecation"] == "@1788220800"  # one date: the route's
    assert "sunset" not in headers
    assert headers["link"] == '<https://example.com/route>; rel="deprecation"; type="text/html"'
