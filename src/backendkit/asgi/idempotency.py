"""Idempotency keys for any ASGI application: a middleware that keeps first responses and replays them.

Two ways to use it:

- **app-wide** (``IdempotencyMiddleware(app, idempotency)``): every request whose
  method the :class:`~backendkit.idempotency.Idempotency` covers (POST and PATCH by
  default) is handled here, before the application: its key is scoped by the user
  already known at that point (``set_user_id``), else the API key, else the client;
- **per route** (``app_wide=False``): the middleware only buffers and records; a
  route's own hook (FastAPI's ``IdempotentRoutes.depends()``) starts the key once the
  route's authentication has run, so keys are scoped per authenticated user.

A first request's response is forwarded as it is sent and kept when the policy says
so (not streamed, within ``max_size``). A replay is sent by the middleware itself,
with ``Idempotent-Replayed: true``. Refusals (400, 409, 422, 503) are raised for the
application's error handling when backendkit's is installed around the middleware;
on its own, the middleware renders them in the default envelope.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from backendkit._headers import channel
from backendkit._runtime import AdapterState
from backendkit._settings import Settings
from backendkit.asgi._idempotency_io import Captured, Headers, buffered, send_replay
from backendkit.asgi._respond import send_error_response
from backendkit.asgi._types import ASGIApp, Message, Receive, Scope, Send
from backendkit.context import get_request_facts
from backendkit.errors import APIError, ConfigurationError
from backendkit.idempotency import Attempt, Idempotency, KeyedRequest, Replay

SLOT = "backendkit.idempotency"
"""The key of a request's :class:`Slot` in the ASGI scope (``app_wide=False``)."""


@dataclass
class Slot:
    """A request's idempotency, between the middleware (body, response) and a route's hook (start).

    The hook names the :class:`Idempotency` (one app can have several: a store per route);
    the middleware finishes with the one that started.
    """

    scope: Scope
    body: bytes
    key_values: list[str]
    idempotency: Idempotency | None = None
    attempt: Attempt | None = None
    replay: Replay | None = None
    headers: Headers | None = None  # (read by the middleware; None: read them again)

    async def start(self, idempotency: Idempotency, *, required: bool | None = None) -> None:
        """Start the request's key (once): take it, or raise the refusal; a replay is sent by the middleware."""
        if self.idempotency is not None:
            return
        replay = await self.begin(idempotency, required)
        if replay is not None:
            self.replay = replay
            raise ReplayInstead()

    async def begin(self, idempotency: Idempotency, required: bool | None = None) -> Replay | None:
        """Start the request's key: the replay to send, or ``None`` (the handler runs); raises the refusals."""
        self.idempotency = idempotency
        keyed = _keyed(self, idempotency)
        if idempotency.store_inline:  # (a store that never waits: no coroutine to make)
            outcome = idempotency.start(keyed, required=required)
        elif _awaitable(idempotency):
            outcome = await idempotency.astart(keyed, required=required)
        else:  # a sync-only store: off the event loop, as on every framework
            outcome = await asyncio.to_thread(idempotency.start, keyed, required=required)
        if isinstance(outcome, Replay):
            return outcome
        self.attempt = outcome
        return None


class ReplayInstead(APIError):
    """Raised by a route's hook when the request is a retry: the middleware sends the stored response instead.

    What the application's error handling renders for it is never sent.
    """

    status = 409
    code = "IDEMPOTENT_REPLAY"


def _awaitable(idempotency: Idempotency) -> bool:
    """Whether the store can be awaited; a sync-only one (``RedisStore``) runs in a worker thread."""
    return idempotency.store_awaits


def _keyed(slot: Slot, keys: Idempotency) -> KeyedRequest:
    scope = slot.scope
    client = scope.get("client")
    seen = slot.headers
    if seen is None or (seen.keys is not keys and seen.api_key_header != _api_name(keys)):
        seen = Headers(scope.get("headers", ()), keys, _api_name(keys))  # (another Idempotency's header)
    facts = get_request_facts()
    return KeyedRequest(
        method=scope.get("method", ""),
        path=scope.get("path", ""),
        query=scope.get("query_string", b"").decode("latin-1"),
        content_type=seen.content_type,
        body=slot.body,
        key_values=slot.key_values,
        user_id=facts.resolved_user_id() if facts is not None else None,
        api_key=seen.api_key,
        client=(facts.client_ip if facts is not None else None) or (client[0] if client else None),
    )


def _api_name(keys: Idempotency) -> bytes | None:
    return keys.api_key_header.lower().encode("latin-1") if keys.api_key_header else None


class IdempotencyMiddleware:
    """Keep first responses to requests with an ``Idempotency-Key``, and replay them to retries.

    Args:
        app: The ASGI application.
        idempotency: What is covered, the store and the policy. A store that can be
            awaited runs on the event loop; a sync-only one (``RedisStore``) in a worker thread.
        app_wide: Start every covered request's key here (``True``), or leave that to the
            routes' hooks (``False``: FastAPI's ``IdempotentRoutes.depends()``).
    """

    def __init__(self, app: ASGIApp, idempotency: Idempotency, *, app_wide: bool = True) -> None:
        self.app = app
        self.idempotency = idempotency
        self.app_wide = app_wide
        self._state: AdapterState | None = None
        self._settling: set[asyncio.Future[None]] = set()  # keys released after an exception
        self._api_name = _api_name(idempotency)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or SLOT in scope or not self.idempotency.applies(scope.get("method", "")):
            await self.app(scope, receive, send)  # (SLOT: an outer IdempotencyMiddleware has the request)
            return
        try:
            await self._handle(scope, receive, send)
        finally:
            # The slot refers to the scope and the scope to the slot: left there, every request would
            # leave a cycle for the garbage collector (184 collections per 20,000 replays, against none).
            scope.pop(SLOT, None)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = Headers(scope.get("headers", ()), self.idempotency, self._api_name)
        key_values = seen.key_values
        if not key_values and (not self.idempotency.required or not self.app_wide):
            # No key: nothing to keep. A route that requires one says so through its hook.
            scope[SLOT] = Slot(scope, b"", [], headers=seen)
            await self.app(scope, receive, send)
            return
        body, receive = await buffered(receive)
        if body is None:
            await self.app(scope, receive, send)  # (it reads the disconnect, as it would have)
            return
        slot = scope[SLOT] = Slot(scope, body, key_values, headers=seen)
        if self.app_wide:
            try:
                replay = await slot.begin(self.idempotency)
            except APIError as refusal:
                await self._refuse(scope, send, refusal)
                return
            if replay is not None:
                await send_replay(send, replay)
                return
        await self._run(scope, receive, send, slot)

    async def _run(self, scope: Scope, receive: Receive, send: Send, slot: Slot) -> None:
        captured = Captured(slot)

        async def capturing(message: Message) -> None:
            if slot.replay is not None:  # a route's hook found a retry: its stand-in answer is dropped
                return
            if slot.attempt is not None:
                captured.add(message)  # (before it is sent: a client gone does not lose the answer)
            await send(message)

        try:
            await self.app(scope, receive, capturing)
        except BaseException:
            # A response sent whole is kept even if something raised after it (a background
            # task, a client gone while it was sent): the handler has run, and a retry must not
            # run it again. Otherwise the key is released, in a task of its own, which the
            # cancellation of this request (a client gone, a timeout) cannot cut short.
            if slot.replay is None:
                self._settle(slot, captured)
                raise
        if slot.replay is not None:
            await send_replay(send, slot.replay)
        else:
            await self._settled(slot, captured)

    @staticmethod
    async def _settled(slot: Slot, captured: Captured) -> None:
        keys, attempt = slot.idempotency, slot.attempt
        if keys is None or attempt is None:
            return
        on_loop = _awaitable(keys)
        if captured.complete and captured.status is not None:
            answer = (attempt, captured.status, captured.headers, captured.body())
            await (keys.afinish(*answer) if on_loop else asyncio.to_thread(keys.finish, *answer))
        else:
            await (keys.aabandon(attempt) if on_loop else asyncio.to_thread(keys.abandon, attempt))

    def _settle(self, slot: Slot, captured: Captured) -> None:
        if slot.attempt is None:
            return
        task = asyncio.ensure_future(self._settled(slot, captured))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _refuse(self, scope: Scope, send: Send, refusal: APIError) -> None:
        queued = channel(scope)
        if queued is not None:  # backendkit's error handling is around: it renders the refusal
            raise refusal
        state = self._state = self._state or AdapterState(Settings())
        await send_error_response(send, state.render(refusal, path=scope.get("path", "")))


def slot_of(scope: Scope) -> Slot:
    """The request's :class:`Slot`; a ``ConfigurationError`` when no ``IdempotencyMiddleware`` is installed."""
    slot: Slot | None = scope.get(SLOT)
    if slot is None:
        raise ConfigurationError("an idempotent route needs IdempotencyMiddleware(app, idempotency, app_wide=False)")
    return slot


__all__ = ["SLOT", "IdempotencyMiddleware", "ReplayInstead", "Slot", "slot_of"]
