"""The same routes without backendkit, behind each framework's usual CORS tool, for the side-by-side table.

Each app answers as an application using the tool would: the same paths as the
examples (``/me``, ``/tasks``, ``/limited``, ``/boom``, ``/guarded``), a 401 with
``WWW-Authenticate``, a 422, a 429 with the ``RateLimit`` fields and ``Retry-After``
(what a rate limiter sends), an ``X-Request-ID`` on every response (what a
request-id middleware adds), and the framework's own 404 and 500. The CORS tool is
configured as its documentation says for one origin with credentials; the origin
comes from ``BACKENDKIT_EXAMPLE_CORS_ORIGINS``, as the examples read it.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import uuid
from typing import Any

ORIGINS_ENV = "BACKENDKIT_EXAMPLE_CORS_ORIGINS"
QUOTA = 5
BUG = "peer-boom-9d2b"


def origins() -> list[str]:
    return [o.strip() for o in os.environ.get(ORIGINS_ENV, "").split(",") if o.strip()]


class Counter:
    """Requests to ``/limited`` so far (five a minute, as the examples'; never reset: a test's app is new)."""

    def __init__(self) -> None:
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, dict[str, str]]:
        with self._lock:
            n = next(self._count)
        left = max(0, QUOTA - n)
        headers = {"RateLimit-Policy": f'"default";q={QUOTA};w=60', "RateLimit": f'"default";r={left};t=60'}
        if n > QUOTA:
            headers["Retry-After"] = "60"
        return n <= QUOTA, headers


def authorized(value: str | None) -> bool:
    return bool(value and value.startswith("Bearer ") and len(value) > len("Bearer "))


def title_error(raw: bytes) -> str | None:
    """Why a task body is refused (a title of 1 to 200 characters), or ``None``."""
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        return "not JSON"
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        return "title: 1 to 200 characters"
    return None


REFUSED = {"error": {"code": "UNAUTHORIZED", "message": "Authentication required."}}
TOO_MANY = {"error": {"code": "RATE_LIMITED", "message": "Too many requests."}}


# flask-cors ---------------------------------------------------------------------------------------------------


def flask_app() -> Any:
    """Flask with ``CORS(app, origins=[...], supports_credentials=True)``."""
    from flask import Flask, Response, jsonify, request
    from flask_cors import CORS

    app = Flask(__name__)
    CORS(app, origins=origins(), supports_credentials=True)
    counter = Counter()

    @app.after_request
    def request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = uuid.uuid4().hex
        return response

    def refused() -> Any:
        return jsonify(REFUSED), 401, {"WWW-Authenticate": "Bearer"}

    @app.get("/me")
    def me() -> Any:
        if not authorized(request.headers.get("Authorization")):
            return refused()
        return jsonify(sub="browser-user")

    @app.post("/tasks")
    def create() -> Any:
        error = title_error(request.get_data())
        if error:
            return jsonify(error={"code": "VALIDATION_ERROR", "message": error}), 422
        return jsonify(json.loads(request.get_data())), 201

    @app.get("/limited")
    def limited() -> Any:
        allowed, headers = counter.take()
        return jsonify({"ok": True} if allowed else TOO_MANY), 200 if allowed else 429, headers

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(BUG)

    @app.route("/guarded", methods=["PUT", "DELETE"])
    def guarded() -> Any:
        if not authorized(request.headers.get("Authorization")):
            return refused()
        return jsonify(method=request.method)

    return app
