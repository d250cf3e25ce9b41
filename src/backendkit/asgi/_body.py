"""``BodyLimit``: 413 for a request body over the configured size, before the app reads past it."""

from __future__ import annotations

from backendkit._runtime import AdapterState, error_logger
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
    the 413 is sent and the app is told the client disconnected; what it sends or
    raises afterwards is the consequence of that made-up disconnect, so it is
    dropped (an exception is logged at DEBUG on ``backendkit.errors``). A body that
    passes the limit after the response has started can no longer be answered: the
    app is told of a disconnect, and what follows is handled as for a real one.
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
        started = cut = answered = False

        async def limited_receive() -> Message:
            nonlocal received, cut, answered
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    cut = True
                    if not started:
                        answered = True
                        scope[ANSWERED] = True
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
        except Exception as exc:
            if not answered:
                raise
            error_logger.debug("%s raised after the body limit answered 413 (%s)", type(exc).__name__, exc)

    def _rendered(self, scope: Scope) -> ErrorResponse:
        return self.state.render(ContentTooLarge(), path=scope.get("path", ""))
