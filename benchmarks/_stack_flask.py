"""stack_bench.py's Flask apps: backendkit's stack, and the peers' (flask-limiter on Redis, flask-jwt-extended,
python-json-logger for an access line written in ``after_request``).

``GET /me`` (HS256) and ``GET /tasks?limit=20`` (a page of 1,000 tasks), the rate limit on both. No
``POST /tasks``: none of the peers a Flask team picks keeps idempotency keys, so neither variant has it.
No peer pages a list either: the peers' ``GET /tasks`` slices it by ``limit`` and ``offset`` by hand.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request

from benchmarks._stack_common import (
    AUDIENCE,
    CURSOR_SECRET,
    ISSUER,
    LIMIT_PER_MINUTE,
    SECRET,
    TASKS,
    redis_url,
    sink,
)


def backendkit_app() -> Flask:
    from backendkit.auth import HMACKey, JWTVerifier
    from backendkit.flask import BackendKit
    from backendkit.flask.auth import current_principal, require
    from backendkit.flask.pagination import page_request, page_response
    from backendkit.logging import configure_logging
    from backendkit.pagination import Pagination, SortSpec
    from backendkit.ratelimit import Limit, RedisStore, SlidingWindow, by_ip

    configure_logging(stream=sink())
    app = Flask(__name__)
    BackendKit(
        app,
        rate_limits=Limit(SlidingWindow(f"{LIMIT_PER_MINUTE}/minute"), key=by_ip(), store=RedisStore(redis_url())),
        auth=JWTVerifier([HMACKey(SECRET)], issuer=ISSUER, audience=AUDIENCE),
    )
    pages = Pagination(sort=SortSpec(["id"], default="id"), secrets=[CURSOR_SECRET], modes=["cursor"])

    @app.get("/me")
    @require()
    def me() -> Response:
        return jsonify(current_principal.as_dict())

    @app.get("/tasks")
    def list_tasks() -> Response:
        page = pages.paginate_sequence(TASKS, page_request(pages), sorted_by="id")  # the list is in id order
        return page_response(page, [task.model_dump(mode="json") for task in page.items])

    return app


def peers_app() -> Flask:
    from flask_jwt_extended import JWTManager, get_jwt, jwt_required
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler(sink())
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    access = logging.getLogger("access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False

    app = Flask(__name__)
    app.config.update(
        JWT_SECRET_KEY=SECRET,
        JWT_ALGORITHM="HS256",
        JWT_DECODE_AUDIENCE=AUDIENCE,
        JWT_DECODE_ISSUER=ISSUER,
        JWT_TOKEN_LOCATION=["headers"],
    )
    JWTManager(app)
    Limiter(get_remote_address, app=app, default_limits=[f"{LIMIT_PER_MINUTE} per minute"], storage_uri=redis_url())

    @app.before_request
    def started() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def log_access(response: Response) -> Response:
        access.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.started) * 1000, 3),
                "client": request.remote_addr,
            },
        )
        return response

    @app.get("/me")
    @jwt_required()
    def me() -> Response:
        claims: dict[str, Any] = get_jwt()
        return jsonify(subject=claims["sub"], roles=claims.get("roles", []), scopes=claims.get("scope", "").split())

    @app.get("/tasks")
    def list_tasks() -> Response:
        limit = min(max(request.args.get("limit", 20, type=int), 1), 100)
        offset = max(request.args.get("offset", 0, type=int), 0)
        items = [task.model_dump(mode="json") for task in TASKS[offset : offset + limit]]
        return jsonify(items=items, limit=limit, offset=offset, total=len(TASKS))

    return app
