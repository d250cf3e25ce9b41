"""``BodyLimit``: 413 for a request body over the configured size, before the app reads past it."""

from __future__ import annotations

from backendkit._runtime import AdapterState
from backendkit.asgi._respond import send_error_response
from backendkit.asgi._types import ASGIApp, Message, Receive, Scope, Send
from backendkit.errors import ContentTooLarge, ErrorResponse

# Set in the scope once the limit has answered: whatever the app does afterwards (it is
# told the client went away) is dropped, and the error boundaries let it pass unlogged.
ANSWERED = "backendkit.body_limit_answered"


def content_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, or ``None`` when absent or not one clean number."""
    found = [value for name, value in scope.get("headers", ()) if name.lower() == b"content-length"]
    if len(found) != 1 or not found[0].isdigit():
        return None
    return int(found[0])


class BodyLimit:
    """Answer 413 ``PAYLOAD_TOO_LARGE`` for a body over ``limit`` bytes.

    A declared ``Content-Length`` over the limit is answered before the app runs. A
    body without one (chunked) is counted as the app receives it: past the limit,
    the 413 is sent, the app is told the client disconnected, and what it sends
    afterwards is dropped. A body that passes the limit after the response has
    started ends the exchange as a disconnect would.
    """

    def __init__(self, app: ASGIApp, *, limit: int, state: AdapterState) -> None:
        self.app = app
        self.limit = limit
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = content_length(scope)
        if declared is not None and declared > self.limit:
            await send_error_response(send, self._rendered(scope))
            return
        received = 0
        started = answered = False

        async def limited_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    answered = True
                    scope[ANSWERED] = True
                    if not started:
                        await send_error_response(send, self._rendered(scope))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not answered:
                raise
            # The app failed on the disconnect it was told of; the 413 has gone out.

    def _rendered(self, scope: Scope) -> ErrorResponse:
        return self.state.render(ContentTooLarge(), path=scope.get("path", ""))
