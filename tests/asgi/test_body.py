"""``max_body_size`` on the ASGI layer: 413 for a declared or a streamed body over the limit."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from backendkit._settings import Settings
from backendkit.asgi import ErrorMiddleware, Message, Scope
from backendkit.errors import ConfigurationError


def post(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "method": "POST", "path": "/x", "headers": headers, "query_string": b""}


def run(app: Any, scope: Scope, chunks: list[bytes]) -> list[Message]:
    sent: list[Message] = []
    pending = list(chunks)

    async def receive() -> Message:
        if not pending:
            return {"type": "http.disconnect"}
        body = pending.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


async def reader(scope: Scope, receive: Any, send: Any) -> None:
    """Reads the whole body as Starlette's Request.body() does, failing on a disconnect, then echoes its size."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("the client went away")
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = json.dumps({"size": size}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def test_a_declared_length_over_the_limit_is_answered_before_the_app_runs() -> None:
    ran: list[bool] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        ran.append(True)

    sent = run(ErrorMiddleware(app, max_body_size=10), post([(b"content-length", b"11")]), [b"x" * 11])
    assert (sent[0]["status"], ran) == (413, [])
    error = json.loads(sent[1]["body"])["error"]
    assert (error["code"], error["message"]) == ("PAYLOAD_TOO_LARGE", "The request body is too large.")
    assert dict(sent[0]["headers"])[b"x-request-id"].decode() == error["request_id"]


def test_a_streamed_body_is_cut_off_at_the_limit_and_nothing_is_logged_as_a_bug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    sent = run(ErrorMiddleware(reader, max_body_size=10), post([]), [b"x" * 6, b"x" * 6, b"x" * 6])
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]  # the app's reply dropped
    assert sent[0]["status"] == 413
    assert not [r for r in caplog.records if r.name == "backendkit.errors"]
    [access] = [r for r in caplog.records if r.name == "backendkit.access"]
    assert access.http_status == 413  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"content-length", b"10")],
        [(b"content-length", b"abc")],
        [(b"content-length", b"4"), (b"content-length", b"4")],
    ],
    ids=["none", "at the limit", "not a number", "repeated"],
)
def test_a_body_within_the_limit_reaches_the_app(headers: list[tuple[bytes, bytes]]) -> None:
    sent = run(ErrorMiddleware(reader, max_body_size=10), post(headers), [b"x" * 4, b"x" * 6])
    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"]) == {"size": 10}


def test_a_body_over_the_limit_after_the_response_started_ends_as_a_disconnect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def streaming(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive())["type"] != "http.disconnect":
            pass
        raise ConnectionResetError("the client went away")  # as an app told of a real disconnect does

    caplog.set_level(logging.INFO)
    with pytest.raises(ConnectionResetError):  # for the server to close the connection
        run(ErrorMiddleware(streaming, max_body_size=5), post([]), [b"x" * 4, b"x" * 4, b"x"])
    [failure] = [r for r in caplog.records if r.name == "backendkit.errors"]
    assert "after the response" in failure.getMessage()  # not hidden: the response was cut short
    [access] = [r for r in caplog.records if r.name == "backendkit.access"]
    assert access.levelno == logging.ERROR


def test_without_a_limit_nothing_is_counted() -> None:
    sent = run(ErrorMiddleware(reader), post([(b"content-length", b"100000")]), [b"x" * 100_000])
    assert json.loads(sent[1]["body"]) == {"size": 100_000}


@pytest.mark.parametrize("value", [0, -1, True, "10", 1.5])
def test_the_limit_is_a_number_of_bytes(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="MAX_BODY_SIZE"):
        Settings.from_mapping({"MAX_BODY_SIZE": value})
