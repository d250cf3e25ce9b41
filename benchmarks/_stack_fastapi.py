"""stack_bench.py's FastAPI apps: backendkit's stack, and the peers' (asgi-correlation-id, python-json-logger,
slowapi on Redis, PyJWT in a dependency, fastapi-pagination, asgi-idempotency-header on Redis).

``GET /me`` (HS256), ``GET /tasks?limit=20`` (a page of 1,000 tasks), ``POST /tasks`` (an idempotency key), and
the rate limit on every route. The peers' access log is uvicorn's, as python-json-logger formats it with the
correlation id (``_stack_serve.py`` configures it); backendkit's is its own.
"""

# No "from __future__ import annotations": FastAPI reads the routes' annotations, made of local names.
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from benchmarks._stack_common import (
    AUDIENCE,
    CURSOR_SECRET,
    ISSUER,
    LIMIT_PER_MINUTE,
    SECRET,
    TASKS,
    Task,
    TaskIn,
    create,
    redis_url,
    sink,
)


def backendkit_app() -> FastAPI:
    from backendkit.auth import HMACKey, JWTVerifier, Principal
    from backendkit.fastapi import install
    from backendkit.fastapi.auth import Auth
    from backendkit.fastapi.idempotency import IdempotentRoutes
    from backendkit.fastapi.pagination import page_request, page_response
    from backendkit.fastapi.ratelimit import limit
    from backendkit.idempotency import Idempotency
    from backendkit.idempotency.redis import AsyncRedisStore as KeyStore
    from backendkit.logging import configure_logging
    from backendkit.pagination import PageRequest, Pagination, SortSpec
    from backendkit.ratelimit import AsyncRedisStore, Limit, SlidingWindow, by_ip

    configure_logging(stream=sink())
    url = redis_url()
    every_route = limit(Limit(SlidingWindow(f"{LIMIT_PER_MINUTE}/minute"), key=by_ip(), store=AsyncRedisStore(url)))
    app = FastAPI(redirect_slashes=False, dependencies=[Depends(every_route)])
    install(app)
    auth = Auth(JWTVerifier([HMACKey(SECRET)], issuer=ISSUER, audience=AUDIENCE))
    keys = IdempotentRoutes(app, Idempotency(KeyStore(url)))
    pages = Pagination(sort=SortSpec(["id"], default="id"), secrets=[CURSOR_SECRET], modes=["cursor"])
    asked = Annotated[PageRequest, Depends(page_request(pages))]

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(auth.require())]) -> dict[str, Any]:
        return principal.as_dict()

    @app.get("/tasks")
    async def list_tasks(request: asked) -> Any:
        page = pages.paginate_sequence(TASKS, request, sorted_by="id")  # the list is in id order
        return page_response(page, [task.model_dump(mode="json") for task in page.items])

    @app.post("/tasks", status_code=201, dependencies=[keys.depends()])
    async def create_task(data: TaskIn) -> Task:
        return create(data)

    return app


def peers_app() -> FastAPI:
    import jwt
    import redis.asyncio
    from asgi_correlation_id import CorrelationIdMiddleware
    from fastapi import HTTPException
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from fastapi_pagination import LimitOffsetPage, add_pagination, paginate
    from fastapi_pagination.utils import disable_installed_extensions_check
    from idempotency_header_middleware import IdempotencyHeaderMiddleware
    from idempotency_header_middleware.backends import RedisBackend
    from slowapi import Limiter, _rate_limit_exceeded_handler
    from slowapi.errors import RateLimitExceeded
    from slowapi.middleware import SlowAPIASGIMiddleware
    from slowapi.util import get_remote_address

    disable_installed_extensions_check()  # (it warns that Django is installed: the benchmark has all three)
    url = redis_url()
    app = FastAPI(redirect_slashes=False)
    app.state.limiter = Limiter(
        key_func=get_remote_address, default_limits=[f"{LIMIT_PER_MINUTE}/minute"], storage_uri=url
    )
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
    app.add_middleware(IdempotencyHeaderMiddleware, backend=RedisBackend(redis.asyncio.Redis.from_url(url)))
    app.add_middleware(SlowAPIASGIMiddleware)
    app.add_middleware(CorrelationIdMiddleware)  # outermost: every log line has the request's id
    bearer = HTTPBearer()

    def claims(credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]) -> dict[str, Any]:
        try:
            decoded: dict[str, Any] = jwt.decode(
                credentials.credentials, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER
            )
        except jwt.PyJWTError:
            raise HTTPException(401, "Invalid token", headers={"WWW-Authenticate": "Bearer"}) from None
        return decoded

    @app.get("/me")
    async def me(user: Annotated[dict[str, Any], Depends(claims)]) -> dict[str, Any]:
        return {"subject": user["sub"], "roles": user.get("roles", []), "scopes": user.get("scope", "").split()}

    @app.get("/tasks")
    async def list_tasks() -> LimitOffsetPage[Task]:
        return paginate(TASKS)  # type: ignore[no-any-return]

    @app.post("/tasks", status_code=201)
    async def create_task(data: TaskIn) -> Task:
        return create(data)

    add_pagination(app)
    return app
