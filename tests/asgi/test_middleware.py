"""The pure ASGI layer, driven with real ASGI messages (no framework)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.asgi import ErrorBoundary, ErrorMiddleware, Message, RequestContextMiddleware, Scope
from backendkit.context import get_request_id
from backendkit.errors import Conflict


def http_scope(path: str = "/x", headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {"type": "http", "method": "GET", "path": path, "headers": headers or [], "query_string": b""}


def run(app: Any, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def headers_of(messages: list[Message]) -> dict[bytes, bytes]:
    return dict(messages[0]["headers"])


def test_exception_becomes_a_json_500() -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        raise RuntimeError("nope")

    messages = run(ErrorMiddleware(app), http_scope(headers=[(b"x-request-id", b"abc")]))
    assert messages[0]["status"] == 500
    headers = headers_of(messages)
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"x-request-id"] == b"abc"
    assert int(headers[b"content-length"]) == len(messages[1]["body"])
    assert json.loads(messages[1]["body"])["error"]["request_id"] == "abc"


def test_api_error_keeps_its_status_and_problem_format() -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        raise Conflict("Taken.")

    messages = run(ErrorMiddleware(app, error_format="problem"), http_scope("/users"))
    assert messages[0]["status"] == 409
    assert headers_of(messages)[b"content-type"] == b"application/problem+json"
    body = json.loads(messages[1]["body"])
    assert (body["status"], body["detail"], body["instance"]) == (409, "Taken.", "/users")


def test_started_response_cannot_be_replaced() -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("mid-stream")

    with pytest.raises(RuntimeError, match="mid-stream"):
        run(ErrorBoundary(app), http_scope())


def test_request_id_is_set_for_the_app_and_reset_after() -> None:
    seen: list[str | None] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(get_request_id())
        seen.append(scope["state"]["request_id"])
        await send({"type": "http.response.start", "status": 204, "headers": [(b"x-request-id", b"app-set")]})
        await send({"type": "http.response.body", "body": b""})

    messages = run(RequestContextMiddleware(app), http_scope())
    fresh = seen[0]
    assert fresh is not None
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert seen == [fresh, fresh]
    # The app's own header is replaced, never duplicated.
    assert [v for k, v in messages[0]["headers"] if k == b"x-request-id"] == [fresh.encode()]
    assert get_request_id() is None


def test_custom_header_and_untrusted_ids() -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    state = AdapterState(Settings(request_id_header="X-Correlation-ID", trust_request_id=False))
    messages = run(RequestContextMiddleware(app, state=state), http_scope(headers=[(b"x-correlation-id", b"theirs")]))
    assigned = headers_of(messages)[b"x-correlation-id"]
    assert assigned != b"theirs"
    assert re.fullmatch(rb"[0-9a-f]{32}", assigned)


def test_two_ids_are_one_too_many() -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    messages = run(
        RequestContextMiddleware(app), http_scope(headers=[(b"x-request-id", b"a"), (b"X-Request-ID", b"b")])
    )
    assert re.fullmatch(rb"[0-9a-f]{32}", headers_of(messages)[b"x-request-id"])


def test_lifespan_passes_through() -> None:
    calls: list[str] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        calls.append(scope["type"])

    run(ErrorMiddleware(app), {"type": "lifespan"})
    assert calls == ["lifespan"]
