"""A WebSocket is not an HTTP request: the ASGI middleware tells observers nothing of it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backendkit.observability import observe
from tests.observability.apps import fastapi_app
from tests.support.observing import RecordingObserver


def test_a_websocket_session_is_not_a_request_in_the_metrics() -> None:
    seen = RecordingObserver()
    with TestClient(fastapi_app()) as client, observe(seen):
        with client.websocket_connect("/echo") as socket:
            socket.send_text("hello")
            assert socket.receive_text() == "hello"
        assert client.get("/items/1").status_code == 200
    assert [start.path for start in seen.starts] == ["/items/1"]
    assert [(end.method, end.status) for end in seen.finished] == [("GET", 200)]
