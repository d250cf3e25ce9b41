"""The applications under test, each reachable through a test client or a real socket."""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.asgi import from_peer
from tests.support.net import Reply
from tests.support.net import request as socket_request

ALLOWED_ORIGIN = "https://app.example.com"
# The examples take API keys from this store (a SQLite file of the session's own), on all seven targets:
# Django's example reads it once, with the session's settings (tests/conformance/django_settings.py).
KEYS_URL = f"sqlite:///{os.path.join(tempfile.mkdtemp(prefix='bk-conformance-keys-'), 'keys.db')}"
"""The one origin the examples allow in the conformance suite (their BACKENDKIT_EXAMPLE_CORS_ORIGINS)."""
USERS = "ada:correct-horse:admin,bob:battery:staple:viewer"
"""Who may log in to the examples in the conformance suite (their BACKENDKIT_EXAMPLE_USERS; a password may hold ':')."""
BUG_MESSAGE = "secret-token-7f3a9c"
LOG_PASSWORD = "hunter2-in-a-log-line"


def log_inside() -> None:
    """What the /log route of every test app does: one line with a secret in it."""
    import logging

    logging.getLogger("tasks.test").info("inside the view", extra={"password": LOG_PASSWORD, "n": 1})


VALIDATION_SECRET = "hunter2-too-long"


def fail_validation() -> None:
    """What the /boom-validation route of every test app does: a bug chained from a pydantic ValidationError."""
    from pydantic import BaseModel, Field, ValidationError

    class Login(BaseModel):
        password: str = Field(max_length=10)

    try:
        Login(password=VALIDATION_SECRET)
    except ValidationError as exc:
        raise RuntimeError("login failed") from exc


REFRESH_PATH = "/test/auth/refresh"
"""Where every test app serves the refresh endpoint of :func:`refresh_issuer` (the examples' own is theirs)."""


@functools.cache
def refresh_issuer() -> Any:
    """The refresh endpoint's issuer in every test app: its access tokens are the examples' (their secret)."""
    from backendkit.auth import HMACKey, MemoryRefreshStore, RefreshPolicy, TokenIssuer
    from examples import _auth

    return TokenIssuer(
        HMACKey(_auth.secret()),
        issuer=_auth.ISSUER,
        audience=_auth.AUDIENCE,
        refresh_store=MemoryRefreshStore(),
        refresh_policy=RefreshPolicy(reuse_window=0),  # a second use is a reuse, never a retry
    )


TRANSPORT_HEADERS = frozenset({"date", "server", "connection", "keep-alive", "transfer-encoding"})


def fastapi_app() -> Any:
    from backendkit.context import get_request_id
    from backendkit.fastapi.auth import refresh_routes
    from examples.fastapi_app import create_app

    app = create_app()
    refresh_routes(refresh_issuer(), path=REFRESH_PATH, app=app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(BUG_MESSAGE)

    @app.get("/boom-validation")
    def boom_validation() -> None:
        fail_validation()

    @app.get("/whoami")
    def whoami() -> dict[str, str | None]:
        return {"request_id": get_request_id()}

    @app.get("/log/{item}")
    async def log(item: str) -> dict[str, str | None]:
        log_inside()
        return {"request_id": get_request_id()}

    return app


def flask_app() -> Any:
    from flask import jsonify

    from backendkit.context import get_request_id
    from backendkit.flask.auth import refresh_routes
    from examples.flask_app import create_app

    app = create_app()
    app.register_blueprint(refresh_routes(refresh_issuer(), path=REFRESH_PATH, name="test_refresh"))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(BUG_MESSAGE)

    @app.get("/boom-validation")
    def boom_validation() -> None:
        fail_validation()

    @app.get("/whoami")
    def whoami() -> Any:
        return jsonify(request_id=get_request_id())

    @app.get("/log/<item>")
    def log(item: str) -> Any:
        log_inside()
        return jsonify(request_id=get_request_id())

    return app


Send = Callable[[str, str, dict[str, str], bytes | None], Reply]


@dataclass
class Target:
    """One way of reaching one framework's app."""

    name: str
    framework: str
    send: Send
    port: int | None = None  # set when a real server listens

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        json_type: bool = True,
    ) -> Reply:
        """Send a request; a body is declared as JSON unless ``json_type`` is off."""
        hdrs = dict(headers or {})
        if body is not None and json_type:
            hdrs.setdefault("Content-Type", "application/json")
        return self.send(method, path, hdrs, body)


def _join(items: Any) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def fastapi_client(app: Any) -> Send:
    from fastapi.testclient import TestClient

    # From loopback, as every other target's requests come (Starlette's own default peer is
    # "testclient", which is no address and no trusted proxy).
    client = TestClient(from_peer(app, "127.0.0.1", 50000))

    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Reply:
        r = client.request(method, path, headers=headers, content=body)
        return Reply(r.status_code, _join(r.headers.multi_items()), r.content)

    return send


def flask_client(app: Any) -> Send:
    client = app.test_client()

    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Reply:
        r = client.open(path, method=method, headers=headers, data=body)
        return Reply(r.status_code, _join(r.headers.items()), r.get_data())

    return send


def django_client() -> Send:
    from django.test import Client

    # Like a real server, answer a bug with the 500 rather than re-raise it in the test.
    client = Client(raise_request_exception=False)
    client.handler.load_middleware()  # now, with the settings of now (not at the first request)

    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Reply:
        content_type = headers.pop("Content-Type", "")  # the test client always sends one
        r = client.generic(method, path, data=body or b"", content_type=content_type, headers=headers)
        return Reply(r.status_code, _join(r.headers.items()), r.content)

    return send


def served(name: str, framework: str, port: int) -> Target:
    return Target(name, framework, over_socket(port), port)


def over_socket(port: int) -> Send:
    def send(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Reply:
        return socket_request(port, method, path, headers=headers, body=body)

    return send


def comparable(reply: Reply) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (transport headers dropped) and body, for comparing frameworks."""
    return reply.status, {k: v for k, v in reply.headers.items() if k not in TRANSPORT_HEADERS}, reply.body
