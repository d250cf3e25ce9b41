"""The tasks API on FastAPI: ``python -m examples.fastapi_app --port 8000``.

Under a server's own command line, with its logging configuration from backendkit.logging::

    uvicorn examples.fastapi_app:app --workers 2 --log-config examples/uvicorn_log.json
    gunicorn -c examples/gunicorn_conf.py -k uvicorn.workers.UvicornWorker -w 2 examples.fastapi_app:app
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse

from backendkit.auth import Principal
from backendkit.errors import NotFound
from backendkit.fastapi import error_responses, install
from backendkit.fastapi.auth import Auth, refresh_routes
from backendkit.fastapi.health import DrainOnShutdown, health_routes
from backendkit.fastapi.http import deprecated, preconditions
from backendkit.fastapi.idempotency import IdempotentRoutes
from backendkit.fastapi.pagination import page_request, page_response
from backendkit.fastapi.ratelimit import limit
from backendkit.fastapi.security import security_headers
from backendkit.http import Preconditions
from backendkit.logging import configure_logging, uvicorn_log_config
from backendkit.observability import observe, observers
from backendkit.pagination import PageRequest
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

# The page request as a dependency: its query parameters appear in the OpenAPI document.
TaskPages = Annotated[PageRequest, Depends(page_request(TASK_PAGES))]
# PUT /tasks/{id} changes a task only against the version the client read (If-Match), 428 without one.
Replacing = Annotated[Preconditions, Depends(preconditions(required=True))]


def create_app() -> FastAPI:
    # No redirect from /tasks/ to /tasks: Flask and Django answer 404 there too.
    app = FastAPI(title="tasks (FastAPI)", redirect_slashes=False)
    install(
        app,
        max_body_size=MAX_BODY_SIZE,
        trusted_proxies=_proxies.trusted_proxies(),
        cors=_security.cors(),  # the origins in BACKENDKIT_EXAMPLE_CORS_ORIGINS
        security_headers=_security.security_headers(),
        conditional_requests=_http.CONDITIONAL,  # ETags on 200 GET/HEAD answers, 304 when the client has it
        versioning=_http.VERSIONS,  # /v1/... (deprecated) and /v2/...; /v9/... is 404 UNSUPPORTED_VERSION
    )
    store = TaskStore()
    # Per app (its own revocation list), so the dependencies below take it as a default value:
    # an Annotated alias would have to be defined at module level.
    revoked = _auth.revocations(asynchronous=True)
    verifier = _auth.verifier(asynchronous=True, revoked=revoked)
    api_keys = _apikeys.verifier()  # X-API-Key too, with BACKENDKIT_EXAMPLE_APIKEYS_URL
    auth = Auth(verifier, api_keys=api_keys)
    issuer = _sessions.issuer(revoked)  # revokes a reused family's access tokens in the verifier's list
    users = _sessions.users()
    authenticated = auth.require()  # any valid token or API key

    limited = _limits.limited(asynchronous=True)
    idempotency = _idempotency.keys(asynchronous=True)
    health = _health.health(
        store, limited=limited, verifier=verifier, keys=idempotency, issuer=issuer, api_keys=api_keys, asynchronous=True
    )
    health_routes(health, app=app)
    _metrics.fastapi(app)  # GET /metrics with BACKENDKIT_EXAMPLE_METRICS=1
    app.add_middleware(DrainOnShutdown, health=health)  # /readyz answers 503 from SIGTERM on
    keys = IdempotentRoutes(app, idempotency)  # Idempotency-Key on POST /tasks

    @app.get("/", response_class=HTMLResponse, dependencies=[Depends(security_headers(**_security.PAGE_HEADERS))])
    def home(request: Request) -> HTMLResponse:
        return HTMLResponse(_security.page(request.state.csp_nonce))

    @app.get("/tasks", responses=error_responses(400))
    def get_tasks(pages: TaskPages) -> Response:
        page, data = list_tasks(store, pages)
        return page_response(page, data)

    @app.post("/tasks", status_code=201, responses=error_responses(409), dependencies=[keys.depends()])
    def create_task(data: TaskIn, response: Response) -> Task:
        task = store.create(data)
        response.headers["ETag"] = str(task.etag)  # (kept by an idempotent replay)
        return task

    def read_task(task_id: int, response: Response) -> Task:
        task = store.get(task_id)
        if task is None:
            raise NotFound("No task with this id.")
        response.headers["ETag"] = str(task.etag)  # the version's tag: what If-Match names to change it
        return task

    app.get("/tasks/{task_id:int}", responses=error_responses(404))(read_task)

    @app.put("/tasks/{task_id:int}", responses=error_responses(404, 409))
    def replace_task(task_id: int, asked: Replacing, data: TaskIn, response: Response) -> Task:
        task = store.replace(task_id, data, asked)  # 412 with the current ETag when If-Match is stale
        if task is None:
            raise NotFound("No task with this id.")
        response.headers["ETag"] = str(task.etag)
        return task

    @app.delete("/tasks/{task_id:int}", status_code=204)
    def delete_task(task_id: int, asked: Annotated[Preconditions, Depends(preconditions())]) -> Response:
        store.delete(task_id, asked)  # an If-Match, when sent, must name the current version
        return Response(status_code=204)

    v1 = APIRouter(prefix="/v1", tags=["v1"])  # deprecated: Deprecation, Sunset and Link on every answer
    v2 = APIRouter(prefix="/v2", tags=["v2"])

    @v1.get("/tasks/{task_id:int}", responses=error_responses(404))
    def get_task_v1(task_id: int) -> dict[str, Any]:
        task = store.get(task_id)
        if task is None:
            raise NotFound("No task with this id.")
        return _http.task_v1(task)

    v2.get("/tasks/{task_id:int}", responses=error_responses(404))(read_task)
    app.include_router(v1)
    app.include_router(v2)

    # Retired: 410 GONE, with its Deprecation, Sunset and Link, before anything else the route would do.
    @app.get("/legacy/tasks", dependencies=[Depends(deprecated(_http.LEGACY))])
    def legacy_tasks() -> list[dict[str, Any]]:
        return [_http.task_v1(task) for task in store.all()]

    @app.get("/limited", dependencies=[Depends(limit(limited))], responses=error_responses(429))
    def limited() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/me")
    async def me(principal: Principal = Depends(authenticated)) -> dict[str, Any]:
        return principal.as_dict()

    @app.get("/admin/audit", dependencies=[Depends(auth.require(permissions=["audit:read"]))])
    async def audit() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/reports", dependencies=[Depends(auth.require(scopes=["reports:read"]))])
    async def reports() -> dict[str, bool]:
        return {"ok": True}

    @app.post(
        "/auth/login",
        response_model=_sessions.TokenResponse,
        responses={200: {"headers": _sessions.TOKEN_HEADERS_SCHEMA}, **error_responses(401)},
    )
    async def login(data: _sessions.Login) -> Response:
        user = _sessions.authenticate(users, data)
        pair = await issuer.aissue_pair(user.name, claims=_sessions.claims(user))
        body = _sessions.token_body(pair.response())
        return Response(body, media_type="application/json", headers=_sessions.TOKEN_HEADERS)

    refresh_routes(issuer, app=app)  # POST /auth/refresh: RFC 6749 §6 form in, §5.1 or §5.2 JSON out

    @app.post("/auth/logout", status_code=204, responses=error_responses(403))
    async def logout(principal: Principal = Depends(authenticated)) -> Response:
        _sessions.logged_in(principal)  # a token's, not an API key's
        await verifier.arevoke(principal)  # this access token
        await issuer.alogout(principal)  # and its refresh-token family, with the family's other access tokens
        return Response(status_code=204)

    return app


if __name__ == "__main__":  # JSON from the first line: building the app may log (a server's log config does this)
    configure_logging("INFO")

if tracing := _tracing.observers("tasks-fastapi"):  # spans and metrics, when OTEL_* asks for them
    observe(*observers(), *tracing)  # beside what is installed
app = create_app()

if __name__ == "__main__":
    import uvicorn

    from examples._serve import parse_args

    args = parse_args(__doc__ or "")
    # uvicorn's lines as JSON too; its access log off (backendkit writes one line per request). backendkit
    # decides who the client is (trusted_proxies): uvicorn's own X-Forwarded-For handling is off.
    uvicorn.run(app, host=args.host, port=args.port, log_config=uvicorn_log_config("INFO"), proxy_headers=False)
