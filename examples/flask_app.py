"""The tasks API on Flask: ``python -m examples.flask_app --port 8000`` (served by waitress).

Under gunicorn, with its logging configuration from backendkit.logging::

    gunicorn -c examples/gunicorn_conf.py -w 2 examples.flask_app:app
"""

from __future__ import annotations

from flask import Flask, Response, g, jsonify

from backendkit.errors import NotFound
from backendkit.flask import BackendKit, parse_json
from backendkit.flask.auth import Auth, current_principal, refresh_routes, require
from backendkit.flask.health import health_routes
from backendkit.flask.idempotency import idempotent
from backendkit.flask.pagination import page_request, page_response
from backendkit.flask.ratelimit import limit
from backendkit.flask.security import security_headers
from backendkit.logging import configure_logging
from backendkit.observability import observe, observers
from examples import _apikeys, _auth, _health, _idempotency, _limits, _metrics, _proxies, _security, _sessions, _tracing
from examples._tasks import MAX_BODY_SIZE, TASK_PAGES, TaskIn, TaskStore, list_tasks


def create_app() -> Flask:
    app = Flask(__name__)
    # FastAPI does not answer OPTIONS by itself; keep every framework's Allow header the same.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    BackendKit(
        app,
        max_body_size=MAX_BODY_SIZE,
        trusted_proxies=_proxies.trusted_proxies(),
        cors=_security.cors(),  # the origins in BACKENDKIT_EXAMPLE_CORS_ORIGINS
        security_headers=_security.security_headers(),
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
    def create_task() -> tuple[Response, int]:
        task = store.create(parse_json(TaskIn))
        return jsonify(task.model_dump(mode="json")), 201

    @app.get("/tasks/<int:task_id>")
    def get_task(task_id: int) -> Response:
        task = store.get(task_id)
        if task is None:
            raise NotFound("No task with this id.")
        return jsonify(task.model_dump(mode="json"))

    @app.delete("/tasks/<int:task_id>")
    def delete_task(task_id: int) -> Response:
        store.delete(task_id)
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
