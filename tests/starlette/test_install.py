"""Starlette: one install() call, boundaries between middleware, CORS kept on errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from backendkit.errors import Unauthorized
from backendkit.starlette import install
from tests.support.net import request as socket_request
from tests.support.servers import uvicorn_server

ORIGIN = "https://app.example"


async def boom(request: Request) -> Response:
    raise RuntimeError("secret")


async def ok(request: Request) -> Response:
    return JSONResponse({"request_id": request.state.request_id})


async def http_error(request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind == "text":
        raise HTTPException(401, "Token expired.", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if kind == "dict":
        raise HTTPException(400, {"hint": "use ISO dates"})
    raise HTTPException(404)


class RejectMiddleware:
    """A pure ASGI middleware that refuses requests to /private."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/private":
            raise Unauthorized()
        await self.app(scope, receive, send)


class CrashMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path == "/crash-in-middleware":
            raise RuntimeError("middleware bug")
        return await call_next(request)


def make_app(*, install_first: bool) -> Starlette:
    """CORS outermost, two failing middleware inside it; install() before or after them all."""
    app = Starlette(
        routes=[
            Route("/boom", boom),
            Route("/ok", ok),
            Route("/http/{kind}", http_error),
            Route("/items", ok, methods=["POST"]),
        ]
    )
    if install_first:
        install(app)  # middleware added later is covered as well
    app.add_middleware(RejectMiddleware)
    app.add_middleware(CrashMiddleware)
    app.add_middleware(CORSMiddleware, allow_origins=[ORIGIN])
    if not install_first:
        install(app)
    return app


@pytest.fixture(params=[True, False], ids=["install-first", "install-last"])
def client(request: pytest.FixtureRequest) -> TestClient:
    return TestClient(make_app(install_first=request.param))


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/boom", 500, "INTERNAL_ERROR"),
        ("/private", 401, "UNAUTHORIZED"),
        ("/crash-in-middleware", 500, "INTERNAL_ERROR"),
    ],
)
def test_errors_anywhere_are_json_with_cors_and_request_id(
    client: TestClient, path: str, status: int, code: str
) -> None:
    r = client.get(path, headers={"Origin": ORIGIN, "X-Request-ID": "rid-1"})
    assert r.status_code == status
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["x-request-id"] == "rid-1"
    assert r.json()["error"]["code"] == code
    assert b"secret" not in r.content
    assert b"middleware bug" not in r.content


def test_http_exception_text_headers_and_dict_detail(client: TestClient) -> None:
    r = client.get("/http/text")
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Token expired."
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    r = client.get("/http/dict")
    assert r.status_code == 400
    assert r.json()["error"]["details"] == {"hint": "use ISO dates"}
    r = client.get("/http/plain")
    assert r.json()["error"]["message"] == "The requested resource was not found."


def test_request_state_carries_the_id(client: TestClient) -> None:
    r = client.get("/ok", headers={"X-Request-ID": "state-1"})
    assert r.json() == {"request_id": "state-1"}


def test_405_allow(client: TestClient) -> None:
    r = client.delete("/items")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


def test_install_twice_or_late_is_refused() -> None:
    app = Starlette()
    install(app)
    with pytest.raises(RuntimeError, match="already installed"):
        install(app)
    started = Starlette()
    TestClient(started).get("/")
    with pytest.raises(RuntimeError, match="before the application starts"):
        install(started)


def test_debug_errors_show_the_exception() -> None:
    app = Starlette(routes=[Route("/boom", boom)])
    install(app, debug_errors=True, error_format="problem")
    r = TestClient(app).get("/boom")
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["details"]["message"] == "secret"


@pytest.mark.socket
def test_cors_survives_a_500_over_a_real_socket() -> None:
    with uvicorn_server(make_app(install_first=False)) as port:
        reply = socket_request(port, "GET", "/crash-in-middleware", headers={"Origin": ORIGIN})
    assert reply.status == 500
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert json.loads(reply.body)["error"]["code"] == "INTERNAL_ERROR"


def test_405_inside_a_mounted_app_keeps_its_allow() -> None:
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/api", routes=[Route("/thing", ok, methods=["GET"])])])
    install(app)
    r = TestClient(app).post("/api/thing")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_redirect_raised_as_http_exception_passes_through() -> None:
    async def login_first(request: Request) -> Response:
        raise HTTPException(303, headers={"Location": "/login"})

    app = Starlette(routes=[Route("/private-page", login_first)])
    install(app)
    r = TestClient(app, follow_redirects=False).get("/private-page", headers={"X-Request-ID": "r-303"})
    assert (r.status_code, r.headers["location"], r.headers["x-request-id"]) == (303, "/login", "r-303")


def test_http_exception_on_a_websocket_is_a_json_denial() -> None:
    from starlette.routing import WebSocketRoute
    from starlette.testclient import WebSocketDenialResponse
    from starlette.websockets import WebSocket

    async def socket(websocket: WebSocket) -> None:
        raise HTTPException(403)

    app = Starlette(routes=[WebSocketRoute("/ws", socket)])
    install(app)
    with pytest.raises(WebSocketDenialResponse) as info, TestClient(app).websocket_connect("/ws"):
        pass
    assert info.value.status_code == 403
    assert info.value.json()["error"]["code"] == "FORBIDDEN"


def test_http_exception_on_a_websocket_without_denial_responses_closes_it() -> None:
    # A server without the websocket.http.response extension cannot send the denial: the
    # socket is closed before it is accepted (the server answers 403), never left waiting.
    import asyncio

    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def socket(websocket: WebSocket) -> None:
        raise HTTPException(403)

    app = Starlette(routes=[WebSocketRoute("/ws", socket)])
    install(app)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "raw_path": b"/ws", "root_path": "", "scheme": "ws",
             "query_string": b"", "headers": [], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
             "subprotocols": [], "asgi": {"version": "3.0"}}  # fmt: skip
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    assert [(m["type"], m.get("code")) for m in sent] == [("websocket.close", 1008)]


def test_405_allow_with_mounts_beside_top_level_routes() -> None:
    from starlette.routing import Mount

    app = Starlette(
        routes=[
            Route("/items", ok, methods=["DELETE"]),
            Mount("/api", routes=[Route("/items", ok, methods=["POST"])]),
        ]
    )
    install(app)
    client = TestClient(app)
    r = client.get("/api/items")
    assert (r.status_code, r.headers["allow"]) == (405, "POST")
    r = client.get("/items")
    assert (r.status_code, r.headers["allow"]) == (405, "DELETE")


def _access_lines(log_lines: Any, request_id: str) -> list[dict[str, Any]]:
    return [x for x in log_lines.lines if x["logger"] == "backendkit.access" and x.get("request_id") == request_id]


def test_access_timing_stops_when_the_response_is_out(log_lines: Any) -> None:
    import time as clock

    from starlette.background import BackgroundTask

    async def with_task(request: Request) -> Response:
        return JSONResponse({"ok": True}, background=BackgroundTask(clock.sleep, 1.0))

    app = Starlette(routes=[Route("/bg", with_task)])
    install(app)
    assert TestClient(app).get("/bg", headers={"X-Request-ID": "bg-1"}).status_code == 200
    [access] = _access_lines(log_lines, "bg-1")
    assert access["duration_ms"] < 1000  # the one-second task is not part of the request


def test_head_counts_no_body(log_lines: Any) -> None:
    app = Starlette(routes=[Route("/ok", ok, methods=["GET", "HEAD"])])
    install(app)
    assert TestClient(app).head("/ok", headers={"X-Request-ID": "head-1"}).status_code == 200
    [access] = _access_lines(log_lines, "head-1")
    assert access["response_size"] == 0


def test_a_stream_that_fails_midway_is_logged_as_an_error(log_lines: Any) -> None:
    from starlette.responses import StreamingResponse

    async def chunks() -> Any:
        yield b"first,"
        raise RuntimeError("stream broke")

    async def stream(request: Request) -> Response:
        return StreamingResponse(chunks())

    app = Starlette(routes=[Route("/stream", stream)])
    install(app)
    with pytest.raises(Exception) as raised:  # noqa: PT011  # Starlette before 0.46 wraps it in an ExceptionGroup
        TestClient(app).get("/stream", headers={"X-Request-ID": "st-1"})
    cause = raised.value
    while len(getattr(cause, "exceptions", ())) == 1:
        cause = cause.exceptions[0]  # type: ignore[attr-defined]
    assert (type(cause), str(cause)) == (RuntimeError, "stream broke")
    errors = [x for x in log_lines.lines if x["logger"] == "backendkit.errors" and x.get("request_id") == "st-1"]
    assert [e["exception"]["type"] for e in errors] == ["RuntimeError"]
    [access] = _access_lines(log_lines, "st-1")
    assert (access["http_status"], access["level"]) == (200, "error")


HUGE_ID = "1" * 4301  # one digit more than int() converts by default (sys.get_int_max_str_digits())


async def item(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"]})


async def buggy(request: Request) -> Response:
    raise ValueError("a bug of the view")


class EvenConvertor(IntegerConvertor):
    """A convertor of the app's own whose ``convert`` refuses odd numbers with a ValueError."""

    def convert(self, value: str) -> int:
        if int(value) % 2:
            raise ValueError("odd")
        return int(value)


class BuiltinConvertor(IntegerConvertor):
    """A convertor whose ``convert`` is a builtin: it has no code object to compare."""

    convert = staticmethod(int)  # type: ignore[assignment]


@pytest.fixture
def convertors() -> Iterator[None]:
    """Two convertors of the app's own, registered for the test only (Starlette keeps them process-wide)."""
    from starlette.convertors import CONVERTOR_TYPES

    saved = dict(CONVERTOR_TYPES)
    register_url_convertor("backendkit_test_even", EvenConvertor())
    register_url_convertor("backendkit_test_builtin", BuiltinConvertor())
    try:
        yield
    finally:
        CONVERTOR_TYPES.clear()
        CONVERTOR_TYPES.update(saved)


@pytest.mark.usefixtures("convertors")
def test_a_path_parameter_its_convertor_cannot_convert_is_404_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Starlette's router let int()'s ValueError escape: a 500 with a traceback in the log.
    app = Starlette(
        routes=[
            Route("/items/{id:int}", item, methods=["GET", "DELETE"]),
            Mount("/shops/{shop:int}", routes=[Route("/items/{id:int}", item)]),
            Route("/even/{id:backendkit_test_even}", item),
            Route("/builtin/{id:backendkit_test_builtin}", item),
            Route("/bug", buggy),
        ]
    )
    install(app)
    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.INFO):
        paths = [f"/items/{HUGE_ID}", f"/shops/{HUGE_ID}/items/1", f"/shops/1/items/{HUGE_ID}", "/even/3"]
        for path in paths:
            for method in ("GET", "HEAD", "DELETE", "PUT", "PATCH"):
                reply = client.request(method, path, headers={"X-Request-ID": "huge-1"})
                assert reply.status_code == 404, (method, path)
                if method != "HEAD":
                    assert reply.json() == {
                        "error": {
                            "code": "NOT_FOUND",
                            "message": "The requested resource was not found.",
                            "request_id": "huge-1",
                        }
                    }
        assert client.get("/items/12").json() == {"id": 12}
        assert client.get("/even/4").json() == {"id": 4}
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    # Any other ValueError is still the bug it is.
    assert client.get("/bug").status_code == 500
    # A registered convertor with no code object to compare (a builtin convert) breaks nothing: its
    # ValueError cannot be told from a view's (a 500), and every other convertor's is still a 404.
    assert client.get("/builtin/7").json() == {"id": 7}
    assert client.get(f"/builtin/{HUGE_ID}").status_code == 500
    assert client.get(f"/items/{HUGE_ID}").status_code == 404
