"""Rate limits for FastAPI: a dependency per route, and the ASGI middleware for every request.

Example:
    >>> from fastapi import Depends, FastAPI
    >>> from backendkit.fastapi import install
    >>> from backendkit.fastapi.ratelimit import RateLimitMiddleware, limit
    >>> from backendkit.ratelimit import Limit
    >>> app = FastAPI()
    >>> app.add_middleware(RateLimitMiddleware, limits=Limit("1000/hour"))
    >>> install(app)
    >>> @app.get("/search", dependencies=[Depends(limit("5/minute"))])
    ... async def search():
    ...     return {"ok": True}
"""

from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, Request, Response

from backendkit._headers import channel
from backendkit.asgi.ratelimit import RateLimitMiddleware, acheck, request_info, threadable
from backendkit.errors import TooManyRequests
from backendkit.ratelimit import Decision, Limit, Policy


class RateLimitDependency:
    """A route's limit as a FastAPI dependency; made by :func:`limit`.

    Used as ``Depends(...)`` it returns the :class:`~backendkit.ratelimit.Decision`
    (``None`` for an exempt request), so an endpoint can read it.

    With ``install(app)`` the refusal is backendkit's 429 and the headers go on every
    response. Without it (nothing of backendkit's runs when the app is built, so nothing
    could say so then), the dependency answers in FastAPI's own shape rather than fail
    per request: the headers on the endpoint's response, a refusal as an
    ``HTTPException(429)`` with ``Retry-After`` and the ``RateLimit`` fields.
    """

    def __init__(self, rule: Limit) -> None:
        self.limit = threadable(rule)

    async def __call__(self, request: Request, response: Response) -> Decision | None:
        verdict = await acheck(self.limit, request_info(request.scope, request), per_route=True)
        if verdict is None:
            return None
        queued = channel(request.scope)
        if queued is not None:
            return verdict.apply(queued)  # a refusal is rendered by install()
        fields: list[tuple[str, str]] = []  # no install(): FastAPI's own answers
        try:
            return verdict.apply(fields)
        except TooManyRequests as refusal:
            raise HTTPException(429, refusal.message, headers={**dict(fields), **refusal.headers}) from None
        finally:
            for name, value in fields:
                response.headers.append(name, value)


def limit(policies: str | Policy | Sequence[Policy] | Limit, **options: Any) -> RateLimitDependency:
    """A per-route limit: ``dependencies=[Depends(limit("5/minute"))]``.

    ``options`` are those of :class:`~backendkit.ratelimit.Limit`; pass a
    ``Limit`` to share one configured limit. The bucket is per route unless the
    limit names a ``scope``. Key, cost and exemption functions may be async
    with a store that can be awaited (``MemoryStore`` or ``AsyncRedisStore``); a
    sync-only store (``RedisStore``) is checked in a worker thread. Add
    ``responses=error_responses(429)`` to document the refusal in OpenAPI.
    """
    return RateLimitDependency(policies if isinstance(policies, Limit) else Limit(policies, **options))


__all__ = ["RateLimitDependency", "RateLimitMiddleware", "limit"]
