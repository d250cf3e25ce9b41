"""The tasks API on Flask: ``python -m examples.flask_app --port 8000`` (served by waitress).

Under gunicorn, with its logging configuration from backendkit.logging::

    gunicorn -c examples/gunicorn_conf.py -w 2 examples.flask_app:app
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify
from flask.json.provider import DefaultJSONProvider

from backendkit.errors import NotFound
from backendkit.flask import BackendKit, parse_json
from backendkit.flask.auth import Auth, current_principal, refresh_routes, require
from backendkit.flask.health import health_routes
from backendkit.flask.http import deprecated, preconditions
from backendkit.flask.idempotency import idempotent
from backendkit.flask.pagination import page_request, page_response
from backendkit.flask.ratelimit import limit
from backendkit.flask.security import security_headers
from backendkit.logging import configure_logging
from backendkit.observability import observe, observers
from examples import (
    _apikeys,
    _auth,
    _health,
    _http,
    _idempotency,
    _limits,
    _metrics,
    _proxies,
    _security,
    _sessions,
    _tracing,
)
from examples._tasks import MAX_BODY_SIZE, TASK_PAGES, Task, TaskIn, TaskStore, list_tasks


class CompactJSON(DefaultJSONProvider):
    """JSON as FastAPI writes it: compact, keys in the model's order, UTF-8, no newline at the end.

    The same bytes on every framework, so an answer's automatic ETag (a hash of its
    bytes) is the same too.
    """

    sort_keys = False
    ensure_ascii = False

    def response(self, *args: Any, **kwargs: Any) -> Response:
        data = args[0] if len(args) == 1 else (args or kwargs)
        return self._app.response_class(self.dumps(data, separators=(",", ":")), mimetype=self.mimetype)


def tagged(task: Task, status: int = 200) -> Response:
    """A task's JSON with its ETag (``"v<version>"``): what ``If-Match`` must name to change it."""
    response = jsonify(task.model_dump(mode="json"))
    response.status_code = status
    response.headers["ETag"] = str(task.etag)
    return response


def create_app() -> Flask:
    app = Flask(__name__)
    app.json = CompactJSON(app)
    # FastAPI does not answer OPTIONS by itself; keep every framework's Allow header the same.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    BackendKit(
        app,
        max_body_size=MAX_BODY_SIZE,
        trusted_proxies=_proxies.trusted_proxies(),
        cors=_security.cors(),  # the origins in BACKENDKIT_EXAMPLE_CORS_ORIGINS
        security_headers=_security.security_headers(),
        conditional_requests=_http.CONDITIONAL,  # ETags on 200 GET/HEAD answers, 304 for a current copy
        versioning=_http.VERSIONS,  # /v1/... (deprecated) and /v2/...
    )
    store = TaskStore()
    revoked = _auth.revocations(asynchronous=False)
    verifier = _auth.verifier(asynchronous=False, revoked=revoked)
    api_keys = _apikeys.verifier()  # X-API-Key too, with BACKENDKIT_EXAMPLE_APIKEYS_URL
    Auth(verifier, app, api_keys=api_keys)
    issuer = _sessions.issuer(revoked)  # revokes a reused family's access tokens in the verifier's list
    users = _sessions.users()

    limited = _limits.limited(asynchronous=False)
    keys = _idempotency.keys(asynchronous=False)
    health = _health.health(
        store, limited=limited, verifier=verifier, keys=keys, issuer=issuer, api_keys=api_keys, asynchronous=False
    )
    app.register_blueprint(health_routes(health))
    _metrics.flask(app)  # GET /metrics with BACKENDKIT_EXAMPLE_METRICS=1

    @app.get("/")
    @security_headers(**_security.PAGE_HEADERS)
    def home() -> Response:
        return Response(_security.page(g.csp_nonce), content_type="text/html; charset=utf-8")

    @app.get("/tasks")
    def get_tasks() -> Response:
        page, data = list_tasks(store, page_request(TASK_PAGES))
        return page_response(page, data)

    @app.post("/tasks")
    @idempotent(keys)  # Idempotency-Key: a retry gets the same 201 and the same task
    def create_task() -> Response:
        return tagged(store.create(parse_json(TaskIn)), 201)

    @app.get("/tasks/<int:task_id>")
    def get_task(task_id: int) -> Response:
        return tagged(_found(store, task_id))  # If-None-Match naming its tag: 304

    @app.put("/tasks/<int:task_id>")
    def replace_task(task_id: int) -> Response:
        guard = preconditions(required=True)  # 428 without If-Match, before the body is read
        task = store.replace(task_id, parse_json(TaskIn), guard)  # 412 if If-Match names another version
        if task is None:
            raise NotFound("No task with this id.")
        return tagged(task)

    @app.delete("/tasks/<int:task_id>")
    def delete_task(task_id: int) -> Response:
        store.delete(task_id, preconditions())  # an If-Match, when sent, must name the current version
        response = Response(status=204)
        del response.headers["Content-Type"]  # no body, so no type (as on FastAPI)
        return response

    @app.get("/limited")
    @limit(limited)
    def limited() -> Response:
        return jsonify(ok=True)

    @app.get("/me")
    @require()
    def me() -> Response:
        return jsonify(current_principal.as_dict())

    @app.get("/admin/audit")
    @require(permissions=["audit:read"])
    def audit() -> Response:
        return jsonify(ok=True)

    @app.get("/reports")
    @require(scopes=["reports:read"])
    def reports() -> Response:
        return jsonify(ok=True)

    @app.post("/auth/login")
    def login() -> Response:
        user = _sessions.authenticate(users, parse_json(_sessions.Login))
        pair = issuer.issue_pair(user.name, claims=_sessions.claims(user))
        body = _sessions.token_body(pair.response())
        return Response(body, content_type="application/json", headers=_sessions.TOKEN_HEADERS)

    app.register_blueprint(refresh_routes(issuer))  # POST /auth/refresh: RFC 6749 §6 form in, §5.1 or §5.2 out
    for version in _versions(store):  # /v1/tasks/<id> (deprecated: its headers), /v2/tasks/<id>
        app.register_blueprint(version)

    @app.get("/legacy/tasks")
    @deprecated(_http.LEGACY)  # past its sunset: 410 GONE before anything else, authentication included
    @require()
    def legacy_tasks() -> Response:
        return jsonify([task.model_dump(mode="json") for task in store.all()])

    @app.post("/auth/logout")
    @require()
    def logout() -> Response:
        principal = _sessions.logged_in(current_principal)  # a token's, not an API key's
        verifier.revoke(principal)  # this access token
        issuer.logout(principal)  # and its refresh-token family, with the family's other access tokens
        response = Response(status=204)
        del response.headers["Content-Type"]
        return response

    return app


def _found(store: TaskStore, task_id: int) -> Task:
    task = store.get(task_id)
    if task is None:
        raise NotFound("No task with this id.")
    return task


def _versions(store: TaskStore) -> tuple[Blueprint, Blueprint]:
    """The versioned API: the extension reads the version from the path (``BACKENDKIT_VERSIONING``)."""
    v1, v2 = Blueprint("v1", __name__, url_prefix="/v1"), Blueprint("v2", __name__, url_prefix="/v2")

    @v1.get("/tasks/<int:task_id>")
    def get_task_v1(task_id: int) -> Response:
        return jsonify(_http.task_v1(_found(store, task_id)))

    @v2.get("/tasks/<int:task_id>")
    def get_task_v2(task_id: int) -> Response:
        return tagged(_found(store, task_id))

    return v1, v2


if __name__ == "__main__":  # JSON from the first line: building the app may log (a server's log config does this)
    configure_logging("INFO")  # waitress's own logger ("Serving on ...") propagates to it too

if tracing := _tracing.observers("tasks-flask"):  # spans and metrics, when OTEL_* asks for them
    observe(*observers(), *tracing)  # beside what is installed
app = create_app()

if __name__ == "__main__":
    import waitress

    from examples._serve import parse_args

    args = parse_args(__doc__ or "")
    # backendkit decides who the client is (trusted_proxies); waitress passes the forwarding headers on.
    waitress.serve(app, host=args.host, port=args.port, clear_untrusted_proxy_headers=False)
